"""One typed runner per stage: its inputs, its output and its cache layout.

``fetch``, ``normalize``, ``generate`` and ``aggregate`` each run one stage
for both the single-stage command (``pipeline/commands/<stage>.py``, a thin
click adapter) and ``snapshot`` (:mod:`pipeline.runners.snapshot`, their
composition). Stage outputs that ``snapshot`` reuses live under
``data/work/<stage>/<key>/`` (:mod:`pipeline.stagecache`); a command writes
only its own directory there, never a whole stage's.
"""
