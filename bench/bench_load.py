"""Benchmark the load stage against ``psql \\copy`` on the local PostgreSQL.

One run, same machine, same rows:

1. a snapshot from the generate stage (legacy mode: ``--teams`` teams of
   ``--members`` members with ``--prs`` PRs each) plus the aggregate stage,
   written once and cached under ``data/work/bench_load/``;
2. ``demoseed load`` into an empty database (it creates the app tables and
   builds their indexes after the rows) -- the default path;
3. ``demoseed load`` into the empty app tables created from app-schema.sql;
4. ``psql -1 -c '\\copy ... FROM csv'`` of the very same rows (the loader's
   transformed SELECT, exported as CSV beforehand, untimed) into the same empty
   app tables created from app-schema.sql.

Printed: rows/s of each, and the ratios the issue sets targets for:
load (excluding verification) throughput vs psql (target >= 0.8x) and the
full ``demoseed load`` wall time vs psql (target <= 1.5x).

    .venv/bin/python bench/bench_load.py                       # 50,000 PRs, a few minutes
    .venv/bin/python bench/bench_load.py --teams 100 --members 40 --prs 10000   # 1,000,000 PRs

Needs PostgreSQL at DEMOSEED_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test)
and psql on PATH; prints why and exits 0 when either is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_BASE = os.environ.get("DEMOSEED_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg(sql: str, dsn: str = PG_BASE) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def _fresh_db(name: str) -> str:
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg(f'CREATE DATABASE "{name}"')
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


def psql_copy(dsn: str, files: dict[str, Path]) -> float:
    from pipeline.base.schemas import spec

    script = "\n".join(
        f"\\copy {name} ({', '.join(spec(name).column_names)}) FROM '{path}' (FORMAT csv)"
        for name, path in files.items()
    )
    path = next(iter(files.values())).parent / "copy.psql"
    path.write_text(script + "\n")
    t0 = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", dsn, "-f", str(path)], check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teams", type=int, default=10)
    ap.add_argument("--members", type=int, default=10)
    ap.add_argument("--prs", type=int, default=5000, help="PRs per team")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("DEMOSEED_DATA", "data")) / "work" / "bench_load")
    ap.add_argument("--keep", action="store_true", help="Keep the bench databases afterwards.")
    args = ap.parse_args(argv)

    if shutil.which("psql") is None:
        print("skipped: psql is not on PATH")
        return 0
    try:
        _pg("SELECT 1")
    except Exception as exc:
        print(f"skipped: PostgreSQL not reachable at {PG_BASE}: {str(exc).strip().splitlines()[0]}")
        return 0

    from pipeline.runners.load import run_load

    # the last second of the snapshot's last week: dates stay, nothing is held back (the cut still runs)
    as_of = dt.datetime(2026, 1, 11, 23, 59, 59, tzinfo=dt.UTC)
    today = as_of.date()
    snapshot = build_snapshot(args.teams, args.members, args.prs, args.cache)
    dbs = ["demoseed_bench_load_a", "demoseed_bench_load_b", "demoseed_bench_load_psql"]
    try:
        # 2. demoseed into an empty database (creates the tables, indexes after the rows)
        url_a = _fresh_db(dbs[0])
        t0 = time.perf_counter()
        rep_a = run_load(snapshot, url_a, as_of=as_of)
        wall_a = time.perf_counter() - t0
        rows = rep_a.rows
        # 3. demoseed into the empty app tables (indexes maintained during the COPY, as psql's are)
        url_b = _fresh_db(dbs[1])
        app_schema(url_b)
        t0 = time.perf_counter()
        rep_b = run_load(snapshot, url_b, as_of=as_of)
        wall_b = time.perf_counter() - t0
        # 4. psql \copy of the same rows into the same empty app tables
        with tempfile.TemporaryDirectory(prefix="bench_load_", dir=args.cache) as tmp:
            files = export_csv(snapshot, Path(tmp), today)
            url_p = _fresh_db(dbs[2])
            app_schema(url_p)
            psql_s = psql_copy(url_p, files)
    finally:
        if not args.keep:
            for name in dbs:
                _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert rep_a.ok and rep_b.ok and rep_b.rows == rows
    prs = next(t.inserted_rows for t in rep_a.tables if t.name == "metrics_pullrequest")
    print(f"snapshot: {prs:,} PRs, {rows:,} rows in 13 app tables ({snapshot})")
    print(f"{'path':<52}{'seconds':>9}{'rows/s':>12}")

    def line(label: str, seconds: float) -> None:
        print(f"{label:<52}{seconds:>9.2f}{rows / seconds:>12,.0f}")

    line("psql \\copy CSV -> empty app tables (-1)", psql_s)
    line("demoseed load -> empty app tables: load only", rep_b.load_seconds)
    line("demoseed load -> empty app tables: full", wall_b)
    line("demoseed load -> empty database: load only", rep_a.load_seconds)
    line("demoseed load -> empty database: full", wall_a)
    print(
        f"  (full = verify {rep_a.verify_seconds:.2f}s + load + read-back {rep_a.readback_seconds:.2f}s, empty database run)"
    )
    print(
        f"throughput ratio, load only vs psql (target >= 0.8): app tables {psql_s / rep_b.load_seconds:.2f}x, "
        f"empty database {psql_s / rep_a.load_seconds:.2f}x"
    )
    print(
        f"time ratio, full make load vs psql (target <= 1.5): app tables {wall_b / psql_s:.2f}x, "
        f"empty database {wall_a / psql_s:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
