"""What a load did, table by table, and how it read back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from pipeline.base.errors import UserError


class ReadBackMismatch(UserError):
    """What the database returns differs from the snapshot: the load is rolled back (exit 1)."""

    exit_code = 1


@dataclass
class TableReport:
    name: str
    expected_rows: int  # rows in the snapshot file
    inserted_rows: int = 0
    id_offset: int = 0  # added to the ids of the inserted rows
    deleted_rows: int = 0  # removed by --clear
    held_back: int = 0  # snapshot rows not loaded: dated after the load instant
    readback_rows: int | None = None
    content_ok: bool | None = None
    mismatched: list[str] = field(default_factory=list)  # columns whose read-back aggregate differs
    seconds: float = 0.0
    ids_kept: int = 0  # rows that keep the target's id (--clear: the team rows, rewritten in place)

    @property
    def ok(self) -> bool:
        return (
            self.inserted_rows == self.expected_rows
            and self.readback_rows == self.expected_rows
            and bool(self.content_ok)
        )


@dataclass
class LoadReport:
    target: str  # the DB URL, password masked
    snapshot: Path
    snapshot_id: str
    team_slugs: list[str]
    team_ids: list[int]
    created_tables: list[str]
    cleared_team_ids: list[int]
    foreign: dict[str, tuple[str, int]]  # --clear in other tables: table[.column] -> ("deleted" | "set NULL", rows)
    rebase: str
    rebase_weeks: int
    tables: list[TableReport]
    next_ids: dict[str, int]
    as_of: dt.datetime | None = None
    reopened_prs: int = 0  # merged or closed after the load instant: loaded as open
    recomputed_week: dt.date | None = None  # the load instant's week (target dates), its weekly rows recomputed
    recomputed_rows: int = 0
    drift: list[str] = field(default_factory=list)  # how the app schema differs and what the load did about it
    notes: list[str] = field(default_factory=list)
    verify_seconds: float = 0.0
    load_seconds: float = 0.0  # schema + clear + inserts + indexes + commit
    readback_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.inserted_rows for t in self.tables)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def problems(self) -> list[str]:
        return self.problems_of(self.tables)

    @staticmethod
    def problems_of(tables: list[TableReport]) -> list[str]:
        """What differs between the snapshot and the read-back, per table (empty: all agree)."""
        out = []
        for t in tables:
            if t.inserted_rows != t.expected_rows:
                out.append(f"{t.name}: inserted {t.inserted_rows} of {t.expected_rows} rows")
            if t.readback_rows != t.expected_rows:
                out.append(f"{t.name}: read back {t.readback_rows} rows, expected {t.expected_rows}")
            if t.mismatched:
                out.append(f"{t.name}: read-back differs in {', '.join(t.mismatched)}")
        return out

    def rich_table(self) -> Table:
        table = Table(title=f"loaded snapshot {self.snapshot.name} ({self.snapshot_id})", title_justify="left")
        for col, justify in (
            ("table", "left"),
            ("rows", "right"),
            ("id offset", "right"),
            ("cleared", "right"),
            ("held back", "right"),
            ("read back", "right"),
            ("content", "center"),
            ("seconds", "right"),
        ):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for t in self.tables:
            content = "ok" if t.content_ok else ("DIFFERS" if t.content_ok is False else "-")
            back = "-" if t.readback_rows is None else f"{t.readback_rows:,}"
            table.add_row(
                t.name,
                f"{t.inserted_rows:,}",
                _offset(t),
                f"{t.deleted_rows:,}" if t.deleted_rows else "",
                f"{t.held_back:,}" if t.held_back else "",
                back,
                content,
                f"{t.seconds:.2f}",
            )
        table.add_row(
            "total",
            f"{self.rows:,}",
            "",
            "",
            f"{self.held_back:,}" if self.held_back else "",
            "",
            "ok" if self.ok else "DIFFERS",
            f"{self.load_seconds:.2f}",
        )
        return table

    @property
    def held_back(self) -> int:
        return sum(t.held_back for t in self.tables)

    def summary_lines(self) -> list[str]:
        lines = [
            f"into {self.target}",
            f"{_teams(self.team_slugs, self.team_ids)}; {self.rebase}",
        ]
        if self.as_of is not None:
            lines.append(self.as_of_line())
        lines.append(
            f"verify {self.verify_seconds:.2f}s, load {self.load_seconds:.2f}s "
            f"({self.rows / self.load_seconds if self.load_seconds else 0:,.0f} rows/s), "
            f"read-back {self.readback_seconds:.2f}s"
        )
        if self.created_tables:
            lines.append(f"created {len(self.created_tables)} app table(s) with their constraints and indexes")
        lines += self.drift + self.notes
        if self.cleared_team_ids:
            line = f"--clear replaced the rows of team id(s) {_ids(self.cleared_team_ids)} (team rows kept, updated)"
            if self.foreign:
                line += "; in other tables: " + ", ".join(
                    f"{k} {n:,} {a}" for k, (a, n) in sorted(self.foreign.items())
                )
            lines.append(line)
        return lines

    def as_of_line(self) -> str:
        assert self.as_of is not None
        held = [f"{t.name} {t.held_back:,}" for t in self.tables if t.held_back]
        text = f"as of {self.as_of:%Y-%m-%d %H:%M:%S} UTC: "
        text += (
            f"held back {self.held_back:,} row(s) dated after it ({', '.join(held)})" if held else "nothing held back"
        )
        if self.reopened_prs:
            text += f"; {self.reopened_prs:,} PR(s) merged or closed later shown open"
        if self.recomputed_week is not None:
            text += f"; weekly metrics of the week of {self.recomputed_week} recomputed ({self.recomputed_rows:,} rows)"
        return text


def _offset(t: TableReport) -> str:
    """The id offset applied to the inserted rows: ``kept`` where the rows keep their ids (--clear's team rows)."""
    if t.ids_kept and t.ids_kept >= t.inserted_rows:
        return "kept"
    return f"+{t.id_offset:,}" + (f" ({t.ids_kept:,} kept)" if t.ids_kept else "")


def _ids(ids: list[int]) -> str:
    """Ids for one line: all of a few, else a count and the range (1,000 teams must not print 10 KB)."""
    if len(ids) <= 6:
        return ", ".join(map(str, ids))
    return f"{len(ids):,} ids, {min(ids)}..{max(ids)}"


def _teams(slugs: list[str], ids: list[int]) -> str:
    if len(slugs) <= 6:
        return f"teams {', '.join(slugs)} (ids {_ids(ids)})"
    return f"{len(slugs):,} teams ({', '.join(slugs[:3])}, ..., {slugs[-1]}; ids {min(ids)}..{max(ids)})"
