"""``demoseed load`` into PostgreSQL against what a careful user and PostgreSQL itself can do (``make bench``).

Every anchor of issue 15's table, in the same run, on the same rows (the
loader's own transformed rows: its SELECT exported once, untimed), each into
a fresh database, one transaction each, methods interleaved for ``--rounds``
rounds (best and median printed):

1. ``psql -1 \\copy`` CSV into the app tables with their indexes and FKs in
   place (app-schema.sql; the old anchor);
2. ``psql -1``: the tables (with their primary keys and UNIQUE constraints),
   ``\\copy`` CSV, then the app's other indexes and FKs built after the rows
   (issue 15's "indexes dropped, loaded, rebuilt");
3. the same with the keys too built after the rows (PostgreSQL's advice for
   a fresh table: every index after the COPY; the key definitions are read
   from pg_constraint and added back by a DO block): what a careful user
   does, set up as well as it can be;
4. server-side ``COPY ... FROM '<file>' (FORMAT binary)``, keys, indexes and
   FKs built after the rows (PostgreSQL's own single-stream ingest, no
   client; the binary files are written by PostgreSQL itself, ``COPY ...
   TO``, from anchor 2's database, untimed);
5. the same with ``COPY ... (FORMAT binary, FREEZE)`` (the tables are created
   in the transaction, so PostgreSQL may write the rows frozen, as
   ``demoseed load`` does): the strongest single-stream anchor;
6. ``demoseed load`` (a fresh process, ``/usr/bin/time``) into the empty app
   tables from app-schema.sql: its wall time in all (start-up, verification,
   load, read-back), its load phase as it reports it, and its peak RSS.
   (Its rows go through psycopg's ``COPY ... FROM STDIN (FORMAT binary,
   FREEZE)``, encoded by pgpq from DuckDB's Arrow batches, keys and indexes
   built after the rows, as in anchors 3-5.) Unless ``--skip-untuned``, each
   round also runs it without the allocator tuning of
   ``pipeline/base/tuning.py`` (glibc's one arena and ``malloc_trim``), and
   the peak RSS and time of both are compared.

(ADBC ``adbc_ingest`` is not measured: the ADBC PostgreSQL driver is not a
dependency.) Printed: the table, the ratios issue 15 sets targets for
(``demoseed load`` in all <= 0.8x anchor 2, and against anchor 3; its load
phase <= 1.1x anchor 4; peak <= 0.5 GB), the load phase against anchor 5,
and the load average before and after.

    .venv/bin/python bench/bench_load.py                          # 200,000 PRs (~1,110 teams of 6 x 180)
    .venv/bin/python bench/bench_load.py --teams 5800             # ~1,044,000 PRs, the issue's size

Needs PostgreSQL at DEMOSEED_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test,
a superuser on this machine: server-side COPY) and psql on PATH; prints why and exits 0 when either is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PG_BASE = os.environ.get("DEMOSEED_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEMOSEED = Path(sys.executable).with_name("demoseed")
AS_OF = "2026-01-11T23:59:59Z"  # the last second of the snapshot's last week: dates stay, nothing is held back


def _pg(sql: str, dsn: str = PG_BASE) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def _fresh_db(name: str) -> str:
    """A new empty database, after a CHECKPOINT and a sync (untimed): every method starts with no dirty
    buffers and no WAL of the one before it to write out, so a checkpoint is not charged to one of them."""
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg(f'CREATE DATABASE "{name}"')
    _pg("CHECKPOINT")
    os.sync()
    return PG_BASE.rsplit("/", 1)[0] + f"/{name}"


def build_snapshot(teams: int, members: int, prs: int, root: Path) -> Path:
    from pipeline.base.manifest import verify_snapshot, write_snapshot
    from pipeline.paths import DEFAULT_ANCHOR
    from stages.aggregate import aggregate
    from stages.generate import GenerateConfig, generate

    directory = root / f"legacy-t{teams}-m{members}-p{prs}"
    if (directory / "manifest.json").is_file():
        try:
            verify_snapshot(directory, content=False)
            return directory
        except Exception:
            shutil.rmtree(directory)
    t0 = time.perf_counter()
    result = generate(
        GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=None, teams=teams, members=members, prs=prs, real_share=0)
    )
    weeks = list(result.info.week_starts)
    tables = dict(result.tables)
    tables.update(aggregate(tables, week_starts=weeks))
    write_snapshot(
        directory, tables, name=directory.name, params={"generate": result.info.as_json()}, inputs={}, notes=["bench"]
    )
    print(f"snapshot built in {time.perf_counter() - t0:.1f}s: {directory}")
    return directory


def export_csv(snapshot: Path, out: Path, today: dt.date) -> dict[str, Path]:
    """The loader's own transformed rows (empty target: offsets 0), as CSV per table."""
    from pipeline.base.manifest import read_manifest
    from pipeline.base.schemas import APP_LOAD_ORDER, spec
    from stages.load.ddl import app_ddl
    from stages.load.extensions import connect
    from stages.load.plan import plan_rebase, select_sql

    manifest = read_manifest(snapshot)
    rebase = plan_rebase(manifest, snapshot, enabled=True, today=today)
    con = connect()
    files = {}
    for name in APP_LOAD_ORDER:
        sql = select_sql(
            spec(name),
            f"SELECT * FROM read_parquet('{snapshot / f'{name}.parquet'}')",
            offsets={},
            refs=app_ddl().references(name),
            days=rebase.days,
            dialect="postgres",
        )
        files[name] = out / f"{name}.csv"
        con.execute(f"COPY ({sql}) TO '{files[name]}' (FORMAT csv, HEADER false)")
    con.close()
    return files


def app_schema(dsn: str) -> None:
    from stages.load.ddl import APP_SCHEMA_SQL

    _pg(APP_SCHEMA_SQL.read_text(), dsn)


def _psql_script(dsn: str, script: str, where: Path) -> float:
    path = where / "load.psql"
    path.write_text(script + "\n")
    t0 = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", dsn, "-f", str(path)], check=True)
    return time.perf_counter() - t0


def _columns(name: str) -> str:
    from pipeline.base.schemas import spec

    return ", ".join(spec(name).column_names)


# The keys (primary keys, UNIQUE constraints) as PostgreSQL itself defines them, dropped after CREATE TABLE
# and added back after the rows: PostgreSQL's advice for a fresh table (every index after the COPY).
_DROP_KEYS = """CREATE TEMP TABLE _keys AS SELECT conrelid::regclass::text AS rel, conname, contype,
  pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype IN ('p', 'u') AND connamespace = 'public'::regnamespace;
DO $$ DECLARE k record; BEGIN FOR k IN SELECT * FROM _keys LOOP
  EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', k.rel, k.conname); END LOOP; END $$;"""
_ADD_KEYS = """DO $$ DECLARE k record; BEGIN FOR k IN SELECT * FROM _keys ORDER BY contype, rel, conname LOOP
  EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.rel, k.conname, k.def); END LOOP; END $$;"""


def _tables_then_indexes(load: list[str], *, keys_after: bool = True) -> str:
    from pipeline.base.schemas import APP_LOAD_ORDER
    from stages.load.ddl import postgres_post, postgres_tables

    tables = list(APP_LOAD_ORDER)
    return "\n".join(
        [
            "SET maintenance_work_mem = '512MB';",
            *(f"{s};" for s in postgres_tables(tables, "public")),
            *([_DROP_KEYS] if keys_after else []),
            *load,
            *([_ADD_KEYS] if keys_after else []),
            *(f"{s};" for s in postgres_post(tables, "public")),
        ]
    )


def psql_indexes_in_place(dsn: str, files: dict[str, Path]) -> float:
    app_schema(dsn)
    script = "\n".join(f"\\copy {n} ({_columns(n)}) FROM '{p}' (FORMAT csv)" for n, p in files.items())
    return _psql_script(dsn, script, next(iter(files.values())).parent)


def psql_rebuilt(dsn: str, files: dict[str, Path], *, keys_after: bool = True) -> float:
    load = [f"\\copy {n} ({_columns(n)}) FROM '{p}' (FORMAT csv)" for n, p in files.items()]
    return _psql_script(dsn, _tables_then_indexes(load, keys_after=keys_after), next(iter(files.values())).parent)


def server_binary(dsn: str, files: dict[str, Path], *, freeze: bool = False) -> float:
    opts = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    load = [f"COPY {n} ({_columns(n)}) FROM '{p}' ({opts});" for n, p in files.items()]
    return _psql_script(dsn, _tables_then_indexes(load), next(iter(files.values())).parent)


def export_binary(dsn: str, names: list[str], out: Path) -> dict[str, Path]:
    """PostgreSQL writes each loaded table as a binary COPY file (server-side, the server's own encoder)."""
    out.mkdir(mode=0o777, exist_ok=True)
    out.chmod(0o777)
    files = {n: out / f"{n}.bin" for n in names}
    for n, p in files.items():
        _pg(f"COPY {n} ({_columns(n)}) TO '{p}' (FORMAT binary)", dsn)
    return files


_REPORT = re.compile(r"verify ([0-9.]+)s, load ([0-9.]+)s .*read-back ([0-9.]+)s")


# demoseed load with pipeline.base.tuning's allocator tuning off (its fallback where glibc is missing)
UNTUNED = (
    "import sys; import pipeline.base.tuning as t; t._glibc = lambda: None; "
    "from pipeline.entry import main; sys.argv[0] = 'demoseed'; sys.exit(main())"
)


def demoseed_load(dsn: str, snapshot: Path, *, tuned: bool = True) -> tuple[float, float, float, float, float]:
    """(wall s, verify s, load s, read-back s, peak RSS MB) of one ``demoseed load`` process
    (``tuned=False``: without the allocator tuning)."""
    app_schema(dsn)
    env = {**os.environ, "DEMOSEED_DB_URL": dsn, "COLUMNS": "200"}
    demoseed = [str(DEMOSEED)] if tuned else [sys.executable, "-c", UNTUNED]
    cmd = ["/usr/bin/time", "-f", "PEAK %M", *demoseed, "load", str(snapshot), "--as-of", AS_OF]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    text = " ".join((done.stdout + done.stderr).split())
    m = _REPORT.search(text)
    peak = re.search(r"PEAK ([0-9]+)", text)
    if not m or not peak:
        raise SystemExit(f"cannot read demoseed load's report:\n{done.stdout}\n{done.stderr}")
    return wall, float(m.group(1)), float(m.group(2)), float(m.group(3)), int(peak.group(1)) / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teams", type=int, default=1111)
    ap.add_argument("--members", type=int, default=6)
    ap.add_argument("--prs", type=int, default=180, help="PRs per team")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--skip-in-place", action="store_true", help="leave out anchor 1 (5 minutes at 1 M PRs)")
    ap.add_argument(
        "--skip-untuned",
        action="store_true",
        help="leave out demoseed load without the allocator tuning (one per round)",
    )
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("DEMOSEED_DATA", "data")) / "work" / "bench_load")
    args = ap.parse_args(argv)

    if shutil.which("psql") is None:
        print("skipped: psql is not on PATH")
        return 0
    try:
        _pg("SELECT 1")
    except Exception as exc:
        print(f"skipped: PostgreSQL not reachable at {PG_BASE}: {str(exc).strip().splitlines()[0]}")
        return 0

    from pipeline.base.schemas import APP_LOAD_ORDER

    today = dt.datetime.fromisoformat(AS_OF.replace("Z", "+00:00")).date()
    snapshot = build_snapshot(args.teams, args.members, args.prs, args.cache)
    db = "demoseed_bench_load"
    load_avg = os.getloadavg()
    times: dict[str, list[float]] = {}
    runs: list[tuple[float, float, float, float, float]] = []
    untuned: list[tuple[float, float, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench_load_", dir="/tmp") as tmp:
        Path(tmp).chmod(0o755)  # the server reads and writes its binary files below it
        csv = export_csv(snapshot, Path(tmp), today)
        binary: dict[str, Path] = {}
        methods: dict[str, Callable[[str], float]] = {
            "psql \\copy CSV, indexes rebuilt (keys in place)": lambda url: psql_rebuilt(url, csv, keys_after=False),
            "psql \\copy CSV, keys and indexes rebuilt": lambda url: psql_rebuilt(url, csv),
            "server COPY FROM file (binary), keys and indexes rebuilt": lambda url: server_binary(url, binary),
            "server COPY FROM file (binary, FREEZE), keys and indexes rebuilt": lambda url: server_binary(
                url, binary, freeze=True
            ),
        }
        if not args.skip_in_place:
            methods = {"psql \\copy CSV, indexes in place": lambda url: psql_indexes_in_place(url, csv), **methods}
        try:
            for r in range(args.rounds):
                for name, method in methods.items():
                    times.setdefault(name, []).append(method(_fresh_db(db)))
                    if not binary:
                        binary.update(
                            export_binary(PG_BASE.rsplit("/", 1)[0] + f"/{db}", list(APP_LOAD_ORDER), Path(tmp) / "bin")
                        )
                runs.append(demoseed_load(_fresh_db(db), snapshot))
                if not args.skip_untuned:
                    untuned.append(demoseed_load(_fresh_db(db), snapshot, tuned=False))
                print(f"round {r + 1} done", flush=True)
        finally:
            _pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    times["demoseed load, load phase"] = [r[2] for r in runs]
    times["demoseed load, in all"] = [r[0] for r in runs]
    print(f"snapshot {snapshot}: {args.teams * args.prs:,} PRs")
    print(f"{'method':<60}{'best':>8}{'median':>8}   (s, {args.rounds} interleaved rounds, one transaction each)")
    for name, xs in times.items():
        print(f"{name:<60}{min(xs):8.1f}{statistics.median(xs):8.1f}")
    v, ld, rb, peak = (statistics.median(r[i] for r in runs) for i in (1, 2, 3, 4))
    print(
        f"demoseed load parts (median): verify {v:.1f}s, load {ld:.1f}s, read-back {rb:.1f}s; peak RSS {peak:,.0f} MB"
    )

    def ratio(ours: str, anchor: str, target: float) -> None:
        med = statistics.median(times[ours]) / statistics.median(times[anchor])
        best = min(times[ours]) / min(times[anchor])
        print(
            f"{ours} / {anchor}: median {med:.2f}x, best {best:.2f}x (target <= {target}x: {'met' if med <= target else 'NOT met'})"
        )

    ratio("demoseed load, in all", "psql \\copy CSV, indexes rebuilt (keys in place)", 0.8)
    ratio("demoseed load, in all", "psql \\copy CSV, keys and indexes rebuilt", 0.8)
    ratio("demoseed load, load phase", "server COPY FROM file (binary), keys and indexes rebuilt", 1.1)
    ratio("demoseed load, load phase", "server COPY FROM file (binary, FREEZE), keys and indexes rebuilt", 1.1)
    print(f"peak RSS {peak:,.0f} MB (target <= 512 MB: {'met' if peak <= 512 else 'NOT met'})")
    if untuned:
        u_wall, u_peak = (statistics.median(r[i] for r in untuned) for i in (0, 4))
        wall = statistics.median(times["demoseed load, in all"])
        print(
            f"without the allocator tuning (pipeline/base/tuning.py): peak RSS {u_peak:,.0f} MB, in all {u_wall:.1f}s "
            f"(median); tuned/untuned: peak {peak / u_peak:.2f}x, time {wall / u_wall:.2f}x"
        )
    print(
        f"load average before {' '.join(f'{x:.2f}' for x in load_avg)}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
