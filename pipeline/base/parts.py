"""Tables in parts: ``<table>/part-NNNNN.parquet``, one per partition of teams, in row order.

A part's manifest entry (:class:`PartEntry`) holds its path, rows, byte size
and both hashes; the table's own ``sha256`` / ``content_sha256`` hash its parts'
hashes in order (:func:`parts_digest`), see :func:`parted_entry`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PartEntry:
    """One file of a table: its path (relative to the snapshot), row count, hashes and byte size
    (None in manifests written without it)."""

    file: str
    rows: int
    sha256: str
    content_sha256: str
    bytes: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "rows": self.rows}
        if self.bytes is not None:
            out["bytes"] = self.bytes
        return out | {"sha256": self.sha256, "content_sha256": self.content_sha256}


def part_name(table_name: str, index: int) -> str:
    """The relative path of a table's part ``index``: ``<table>/part-00000.parquet``."""
    return f"{table_name}/part-{index:05d}.parquet"


def parts_digest(hashes: list[str] | tuple[str, ...]) -> str:
    """A table's hash from its parts' hashes in order (sha256 of the hex digests, one per line)."""
    return hashlib.sha256("".join(f"{h}\n" for h in hashes).encode()).hexdigest()


def parted_entry(parts: list[PartEntry]) -> dict[str, Any]:
    """The manifest entry of a table written in parts (``file`` is its directory)."""
    directory = parts[0].file.split("/")[0]
    return {
        "file": directory,
        "rows": sum(p.rows for p in parts),
        "sha256": parts_digest([p.sha256 for p in parts]),
        "content_sha256": parts_digest([p.content_sha256 for p in parts]),
        "parts": [p.as_json() for p in parts],
    }


def part_from_json(e: dict[str, Any]) -> PartEntry:
    size = e.get("bytes")
    return PartEntry(
        str(e["file"]), int(e["rows"]), str(e["sha256"]), str(e["content_sha256"]), None if size is None else int(size)
    )
