"""Real-project mode: a team built from a real project's pull requests (``build.build_project``).

``observed``: normalized gh_* tables -> the selected PRs, reviews, people (all
from GitHub); ``rows``: those as app-shaped rows; ``build``: the run, with
:mod:`stages.generate.simulated` filling in what GitHub cannot give.
"""
