"""The pinned-snapshot assertion names the tables whose bytes changed."""

from __future__ import annotations

import json

from tests.test_pinned_snapshots import PINNED_TABLES, _changed


def _manifest(tables: dict[str, str]) -> dict:
    return {"tables": {t: {"sha256": sha} for t, sha in tables.items()}}


def test_the_changed_table_is_named():
    record = json.loads(PINNED_TABLES.read_text())["legacy"]
    assert _changed("legacy", _manifest(record)) == "no table changed (params or inputs did)"
    edited = dict(record, metrics_prreview="0" * 64, metrics_commit="1" * 64)
    assert _changed("legacy", _manifest(edited)) == "tables whose bytes changed: metrics_commit, metrics_prreview"
    del edited["metrics_commit"]
    assert "metrics_commit" in _changed("legacy", _manifest(edited))
