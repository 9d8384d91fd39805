"""`demoseed report`: a snapshot's story as charts, in one offline HTML page and as PNGs.

The flow is one way, one small module per step:

* :mod:`.source` reads what a snapshot already holds (``demoseed_team_weekly``,
  ``metrics_weeklymetrics``, the manifest; two narrow column reads for the
  per-reviewer counts and the real PRs' origin) into a :class:`.source.Story`;
* :mod:`.targets` turns the scenario recorded in the manifest into the target
  curves drawn beside the measured values;
* :mod:`.checks` lists the rules a snapshot held (integrity, the generator's
  coherence rules, the built-in scenarios' promises) for the panel;
* :mod:`.charts` builds one Vega-Lite spec per chart, the snapshots side by
  side with a shared value axis;
* :mod:`.html` writes the self-contained page (Vega's JavaScript inline, no
  network), :mod:`.png` one PNG per chart (rendered by vl-convert, no browser).

Nothing is recomputed differently: a weekly chart's values are the weekly
table's values, unchanged.
"""
