"""What a load did, table by table, and how it read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from pipeline.base.errors import UserError


class ReadBackMismatch(UserError):
    """The load committed, but what the database returns differs from the snapshot (exit 1)."""

    exit_code = 1


@dataclass
class TableReport:
    name: str
    expected_rows: int  # rows in the snapshot file
    inserted_rows: int = 0
    id_offset: int = 0
    deleted_rows: int = 0  # removed by --clear
    readback_rows: int | None = None
    content_ok: bool | None = None
    mismatched: list[str] = field(default_factory=list)  # columns whose read-back aggregate differs
    seconds: float = 0.0

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
    rebase: str
    rebase_weeks: int
    tables: list[TableReport]
    next_ids: dict[str, int]
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
        out = []
        for t in self.tables:
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
                f"+{t.id_offset:,}",
                f"{t.deleted_rows:,}" if t.deleted_rows else "",
                back,
                content,
                f"{t.seconds:.2f}",
            )
        table.add_row("total", f"{self.rows:,}", "", "", "", "ok" if self.ok else "DIFFERS", f"{self.load_seconds:.2f}")
        return table

    def summary_lines(self) -> list[str]:
        lines = [
            f"into {self.target}",
            f"teams {', '.join(self.team_slugs)} (ids {', '.join(map(str, self.team_ids))}); {self.rebase}",
            f"verify {self.verify_seconds:.2f}s, load {self.load_seconds:.2f}s "
            f"({self.rows / self.load_seconds if self.load_seconds else 0:,.0f} rows/s), "
            f"read-back {self.readback_seconds:.2f}s",
        ]
        if self.created_tables:
            lines.append(f"created {len(self.created_tables)} app table(s) with their constraints and indexes")
        if self.cleared_team_ids:
            lines.append(f"--clear removed team id(s) {', '.join(map(str, self.cleared_team_ids))} and their rows")
        return lines
