"""Progress on a TTY: one line per repo (pages, PRs) and the API budget left.

Quiet (a no-op) when disabled or when stderr is not a terminal.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

from stages.fetch.ratelimit import Budget
from stages.fetch.summary import RepoStats

if TYPE_CHECKING:  # rich is imported only when a display is shown
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


class Progress:
    """A rich progress display, or nothing."""

    def __init__(self, repos: list[str], budget: Budget, *, enabled: bool) -> None:
        self.budget = budget
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            for repo in repos:
                self._tasks[repo] = self._bar.add_task(repo, total=None, info="waiting")

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, et: type | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _info(self, st: RepoStats) -> str:
        budget = "?" if self.budget.remaining is None else f"{self.budget.remaining}"
        return f"pages {st.pages} · PRs {st.prs_fetched} · requests {st.requests} · budget left {budget}"

    def page(self, repo: str, st: RepoStats) -> None:
        if self._bar is not None:
            self._bar.update(self._tasks[repo], info=self._info(st))

    def done(self, repo: str, st: RepoStats) -> None:
        if self._bar is not None:
            self._bar.update(self._tasks[repo], info=f"{st.status} · {self._info(st)}", total=1, completed=1)
