"""Commands that check or copy a snapshot's files but read no rows (``verify``, ``pack``, ``unpack``)
import none of the row libraries (pyarrow, polars, duckdb, numpy), as ``--help`` does not; the row
counts they check come from the Parquet footers, read by :mod:`pipeline.base.footer`, which must
agree with pyarrow on every file and fail cleanly (ValueError) on a damaged one.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.base.errors import IntegrityError
from pipeline.base.footer import footer_rows
from pipeline.base.manifest import verify_snapshot
from tests.loaddata import write_test_snapshot

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

ROW_LIBRARIES = ("pyarrow", "polars", "duckdb", "numpy")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("snap") / "two-teams")


def _run_in_fresh_interpreter(args: list[str]) -> tuple[int, list[str], str]:
    """Run ``demoseed ARGS`` in a new Python; its exit status, the row libraries it imported, its output."""
    code = (
        "import contextlib, io, json, sys\n"
        "from pipeline.cli import main\n"
        f"sys.argv = ['demoseed', *{args!r}]\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        code = main()\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        f"loaded = [m for m in {ROW_LIBRARIES!r} if m in sys.modules]\n"
        "print(json.dumps([code, loaded, out.getvalue()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code_, loaded, out = json.loads(done.stdout.strip().splitlines()[-1])
    return code_, loaded, out


def test_verify_pack_unpack_import_no_row_library(snapshot: Path, tmp_path: Path) -> None:
    archive = tmp_path / "two-teams.tar"
    for args, says in (
        (["verify", str(snapshot)], "ok"),
        (["pack", str(snapshot), "-o", str(archive)], "packed"),
        (["unpack", str(archive), "-d", str(tmp_path / "unpacked")], "unpacked"),
        (["verify", str(tmp_path / "unpacked" / "two-teams")], "ok"),
    ):
        code, loaded, out = _run_in_fresh_interpreter(args)
        assert (code or 0, loaded) == (0, []), (args, out)
        assert says in out, (args, out)
    assert (tmp_path / "unpacked" / "two-teams" / "manifest.json").read_bytes() == (
        snapshot / "manifest.json"
    ).read_bytes()


def test_verify_still_checks_the_footer_row_count_without_pyarrow(snapshot: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in snapshot.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    doc = json.loads((copy / "manifest.json").read_text())
    doc["tables"]["teams_team"]["rows"] += 1  # a manifest edited by hand
    (copy / "manifest.json").write_text(json.dumps(doc))
    assert _run_in_fresh_interpreter(["verify", str(copy)])[:2] == (2, [])  # refused, still without pyarrow
    with pytest.raises(IntegrityError, match=r"teams_team: 2 rows, the manifest says 3"):
        verify_snapshot(copy)


def test_footer_rows_agree_with_pyarrow(snapshot: Path, tmp_path: Path) -> None:
    files = sorted(snapshot.glob("*.parquet"))
    assert len(files) >= 13
    many_groups = pa.table(
        {
            "i": pa.array(range(10_000), pa.int64()),
            "flag": pa.array([i % 3 == 0 for i in range(10_000)]),
            "tags": pa.array([[str(i)] * (i % 4) for i in range(10_000)], pa.list_(pa.string())),
            "m": pa.array([{"a": i} for i in range(10_000)], pa.map_(pa.string(), pa.int64())),
        }
    )
    pq.write_table(many_groups, tmp_path / "groups.parquet", row_group_size=999, write_statistics=True)
    pq.write_table(many_groups.slice(0, 0), tmp_path / "empty.parquet")
    pq.write_table(many_groups, tmp_path / "v1.parquet", version="1.0", compression="none")
    files += sorted(tmp_path.glob("*.parquet"))
    for f in files:
        assert footer_rows(f) == pq.ParquetFile(f).metadata.num_rows, f
    assert footer_rows(tmp_path / "groups.parquet") == 10_000 and footer_rows(tmp_path / "empty.parquet") == 0


@pytest.mark.parametrize(
    "damage",
    ["not parquet", "too small", "no end magic", "footer longer than the file", "truncated footer", "zeroed footer"],
)
def test_a_damaged_footer_is_a_value_error(snapshot: Path, tmp_path: Path, damage: str) -> None:
    good = (snapshot / "metrics_pullrequest.parquet").read_bytes()
    length = int.from_bytes(good[-8:-4], "little")
    data = {
        "not parquet": b"PAR1 this is not parquet PAR1",
        "too small": b"PAR1PAR1",
        "no end magic": good[:-4] + b"PARX",
        "footer longer than the file": good[:-8] + (len(good)).to_bytes(4, "little") + b"PAR1",
        "truncated footer": good[: -8 - length] + good[-8 - length : -8 - length // 2] + good[-8:],
        "zeroed footer": good[: -8 - length] + bytes(length) + good[-8:],
    }[damage]
    path = tmp_path / "bad.parquet"
    path.write_bytes(data)
    with pytest.raises(ValueError):
        footer_rows(path)


def test_random_damage_to_a_footer_never_escapes_as_another_error(snapshot: Path, tmp_path: Path) -> None:
    good = (snapshot / "metrics_prreview.parquet").read_bytes()
    length = int.from_bytes(good[-8:-4], "little")
    rng = random.Random(23)
    path = tmp_path / "bad.parquet"
    outcomes = set()
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[len(good) - 8 - rng.randrange(length)] = rng.randrange(256)
        path.write_bytes(bytes(data))
        try:
            outcomes.add(type(footer_rows(path)).__name__)
        except ValueError:
            outcomes.add("ValueError")
    assert outcomes <= {"int", "ValueError"} and "ValueError" in outcomes
