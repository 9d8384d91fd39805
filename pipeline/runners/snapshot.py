"""``demoseed snapshot``: the composition fetch -> normalize -> generate -> aggregate -> snapshot.

The only place that knows the order of the stages. Every bound of the
request is checked before the first stage runs; each stage runs through its
runner (which reads an unchanged stage's output back from ``data/work/``),
and a snapshot whose request and inputs did not change is left as it is
(known without running a stage when nothing changed since the last run:
:mod:`pipeline.runners.quickcheck`). The stages and their table libraries are
imported only when a stage runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__, paths
from pipeline.base.atomic import remove_stale_leftovers
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.github import FETCH_CONCURRENCY
from pipeline.base.manifest import Manifest, verify_snapshot
from pipeline.base.runrecord import GenerateInfo, Mode
from pipeline.outputs import SNAPSHOT, check_output, check_replace
from pipeline.runners import quickcheck
from pipeline.stagecache import stage_key
from stages.generate.config import GenerateConfig

if TYPE_CHECKING:
    import pyarrow as pa

    from pipeline.base.projects import Preset
    from pipeline.runners.generate import Generated
    from pipeline.runners.partitioned import PartitionPlan
    from stages.generate.scenario import Scenario

DEFAULT_SOURCE_REPOS = ("yanchuk/github-issues-rag", "tiangolo/fastapi", "pallets/flask")


@dataclass(frozen=True)
class SnapshotRequest:
    """Everything ``demoseed snapshot`` was asked for: the generate config plus where real data comes from."""

    generate: GenerateConfig = field(default_factory=GenerateConfig)
    project: str | None = None
    no_github: bool = False
    real_data: Path | None = None
    repos: tuple[str, ...] = ()
    output: Path | None = None
    force: bool = False
    concurrency: int = FETCH_CONCURRENCY
    partition_teams: int | None = None  # None: the default (partitioned.default_partition_teams)
    workers: int = 1
    dask: str | None = None

    def __post_init__(self) -> None:
        if self.project != self.generate.project:  # the generate config knows it is a project run
            object.__setattr__(self, "generate", dataclasses.replace(self.generate, project=self.project))

    @property
    def mode(self) -> Mode:
        return self.generate.mode

    def check(self) -> None:
        """Every bound and combination, before any stage runs."""
        if self.project and self.generate.scenario is not None:
            raise UserError("give either --scenario or --project, not both")
        if self.project and (self.generate.members is not None or self.generate.prs is not None):
            raise UserError("--members/--prs are for legacy mode; they do not apply to --project")
        if self.mode is Mode.LEGACY:
            missing = [f"--{k}" for k in ("members", "prs") if getattr(self.generate, k) is None]
            if missing:
                raise UserError(
                    f"legacy mode needs --members and --prs (--teams defaults to 1); missing {', '.join(missing)}"
                )
        self.generate.check_bounds()
        if self.real_data is not None and self.no_github:
            raise UserError("give either --real-data or --no-github, not both")
        if self.project and (self.partition_teams is not None or self.workers > 1 or self.dask):
            raise UserError("--partition-teams, --workers and --dask are for scenario and legacy runs, not --project")
        if self.workers > 1 and self.dask:
            raise UserError("give either --workers (local processes) or --dask (a cluster), not both")

    def as_params(self) -> dict[str, Any]:
        """The request as recorded in the manifest (``params.request``)."""
        return {
            **self.generate.as_params(),
            "project": self.project,
            "no_github": self.no_github,
            "real_data": str(self.real_data) if self.real_data else None,
            "repos": list(self.repos),
        }


@dataclass
class SnapshotOutcome:
    directory: Path
    manifest: Manifest
    skipped: bool = False
    notes: list[str] = field(default_factory=list)
    known: quickcheck.Known | None = None  # what the quick check remembers of a full run

    def with_known(self, known: quickcheck.Known) -> SnapshotOutcome:
        self.known = known
        return self


def snapshot_name(req: SnapshotRequest, scenario_name: str | None) -> str:
    """The default directory name: ``ai-success-seed42`` for a default request, every flag given shows.

    Generate parameters as in :func:`run_name` (``-w12``, ``-a2026-03-02``, ...);
    ``-no-github``; ``-src-<hash>`` for ``--real-data``/``--repo``.
    """
    from pipeline.runners.generate import run_name

    g = req.generate
    if req.project:
        name = f"{req.project}-seed{g.seed}" + (f"-a{g.anchor.isoformat()}" if g.anchor else "")
    else:
        name = run_name(g, scenario_name)
    if req.no_github:
        name += "-no-github"
    if req.real_data is not None or req.repos:
        source = json.dumps([str(req.real_data) if req.real_data else None, sorted(req.repos)])
        name += "-src-" + hashlib.sha256(source.encode()).hexdigest()[:6]
    return name


class SnapshotRun:
    """Runs one request; ``echo`` receives one line per step for the console."""

    def __init__(self, echo: Callable[[str], None] = print) -> None:
        self.echo = echo
        self.notes: list[str] = []
        self.lines: list[str] = []

    def say(self, stage: str, message: str, *, note: bool = False) -> None:
        line = f"{stage:>9}: {message}"
        self.echo(line)
        self.lines.append(line)
        if note:
            self.notes.append(f"{stage}: {message}")

    def fetch(self, req: SnapshotRequest, repos: tuple[str, ...], max_prs: int | None, token: str | None) -> None:
        if req.no_github:
            self.say("fetch", "skipped (--no-github)")
            return
        if req.real_data:
            self.say("fetch", f"skipped (real data given: {req.real_data})")
            return
        if not token:
            self.say("fetch", "no GITHUB_TOKEN: using the raw cache only (set GITHUB_TOKEN, or run 'demoseed fetch')")
            return
        from pipeline.runners import fetch as fetch_runner

        request = fetch_runner.FetchRequest(repos, token, concurrency=req.concurrency, max_prs=max_prs)
        self.say("fetch", fetch_runner.asking_line(request))  # at once: nothing else shows while it waits
        try:
            summary = fetch_runner.run_fetch(request)
        except UserError as exc:
            self.say("fetch", f"failed ({exc}); falling back to the raw cache", note=True)
            return
        for repo, st in sorted(summary.repos.items()):
            detail = f"{st.prs_fetched} PRs fetched, {st.prs_cached} cached, {st.requests} requests"
            if st.error:
                detail = st.error
            elif st.status == "paused" and st.resume_at:
                detail += f"; paused by rate limits, run again after {st.as_dict()['resume_at']}"
            self.say("fetch", f"{repo}: {st.status} ({detail})", note=st.status not in {"ok", "unchanged"})
        if not summary.ok:
            self.say("fetch", "incomplete: using what is cached", note=True)

    def normalize(
        self, req: SnapshotRequest, repos: tuple[str, ...]
    ) -> tuple[dict[str, pa.Table] | None, dict[str, Any]]:
        """Normalized gh_* tables for the source repos (None without real data) and their record for the manifest."""
        from pipeline.runners.normalize import read_normalized, run_normalize

        if req.no_github:
            return None, {"real_data": "none", "reason": "--no-github"}
        if req.real_data:
            tables = read_normalized(req.real_data)
            self.say("normalize", f"{tables['gh_pull_requests'].num_rows} real PRs from {req.real_data}")
            return tables, {"real_data": str(req.real_data)}  # run() records the tables' hashes in inputs.normalized
        result = run_normalize(repos)
        inputs: dict[str, Any] = {"raw_fingerprint": result.raw_fingerprint, "repos": list(repos)}
        if not result.raw_rows:
            self.say("normalize", f"no cached GitHub data for {', '.join(repos)}", note=True)
            return None, {**inputs, "real_data": "none", "reason": "nothing cached for the source repos"}
        prs = result.tables["gh_pull_requests"]
        found = sorted(set(prs.column("repo").to_pylist()))
        missing = [r for r in repos if r not in found]
        also = f"; nothing cached for {', '.join(missing)}" if missing else ""
        cached = " (cached)" if result.cached else ""
        self.say("normalize", f"{prs.num_rows} real PRs from {', '.join(found)}{cached}{also}")
        return result.tables, {**inputs, "real_data": "github-cache", "real_prs": prs.num_rows}

    def run(self, req: SnapshotRequest) -> SnapshotOutcome:
        req.check()
        remove_stale_leftovers(paths.snapshots_dir())  # a killed run's half-written snapshots
        token = None
        if not (req.no_github or req.real_data):
            from stages.fetch import resolve_token

            token = resolve_token()
        quick = None if token or req.force else quickcheck.quick_key(req)
        if quick is not None and (known := quickcheck.recall(quick)) is not None:
            for line in known[0].lines:
                self.echo(line)
            self.notes = list(known[0].notes)
            return self.unchanged(known[0].directory, known[1])
        outcome = self.build(req, token)
        if quick is not None and outcome.known is not None:
            quickcheck.remember(quick, outcome.known)
        return outcome

    def unchanged(self, out_dir: Path, manifest: Manifest) -> SnapshotOutcome:
        self.say("snapshot", f"{out_dir} is up to date (id {manifest.snapshot_id}); --force rebuilds it")
        return SnapshotOutcome(out_dir, manifest, skipped=True, notes=self.notes)

    def build(self, req: SnapshotRequest, token: str | None) -> SnapshotOutcome:
        """The full run: every stage (unchanged ones read back), then the snapshot written or kept."""
        preset, scenario, inputs = _what_generates(req)
        name = snapshot_name(req, scenario.name if scenario is not None else None)
        out_dir = req.output or paths.snapshots_dir() / name
        explicit = req.output is not None
        check_output(out_dir, SNAPSHOT, explicit=explicit)  # before any stage runs: nothing else is touched

        repos = source_repos(req, scenario, preset)
        self.fetch(req, repos, preset.max_prs_per_repo if preset is not None else None, token)
        normalized, real_inputs = self.normalize(req, repos)
        inputs["real"] = real_inputs
        if normalized:
            from pipeline.stagecache import tables_fingerprint

            inputs["normalized"] = tables_fingerprint(normalized)

        from pipeline.runners.partitioned import plan_partitions

        partitioned = None if preset is not None else plan_partitions(req.generate, req.partition_teams)
        request = {**req.as_params(), **(partitioned.as_params() if partitioned else {})}
        request_key = stage_key("snapshot", request, {"inputs": inputs})
        known = quickcheck.Known(out_dir, request_key, tuple(self.lines), tuple(self.notes))
        if not req.force and (manifest := _up_to_date(out_dir, request_key)) is not None:
            return self.unchanged(out_dir, manifest).with_known(known)

        check_replace(out_dir, SNAPSHOT, explicit=explicit, force=req.force)
        if partitioned is not None:
            inputs["request_key"] = request_key
            outcome = self.run_partitioned(req, partitioned, normalized, out_dir, name, request, repos, inputs)
            return outcome.with_known(known)
        from pipeline.base.manifest import write_snapshot
        from pipeline.runners.aggregate import run_aggregate

        gen = self.generate(req, preset, normalized, inputs)
        tables = dict(gen.tables)
        aggregated = run_aggregate(tables, gen.week_starts)
        self.say("aggregate", f"{aggregated.member_weeks} member-weeks in {aggregated.seconds:.1f}s")
        tables.update(aggregated.tables)

        params = {
            "mode": str(req.mode),
            "request": req.as_params(),
            "source_repos": list(repos),
            "generate": gen.run.as_json(),
        }
        inputs["request_key"] = request_key
        manifest = write_snapshot(out_dir, tables, name=name, params=params, inputs=inputs, notes=self.notes)
        self.say("snapshot", f"{out_dir} (id {manifest.snapshot_id}, {len(manifest.tables)} tables)")
        self.say("next", f"demoseed describe {out_dir}   |   demoseed load {out_dir} [--db-url URL]")
        return SnapshotOutcome(out_dir, manifest, notes=self.notes).with_known(known)

    def run_partitioned(
        self,
        req: SnapshotRequest,
        plan: PartitionPlan,
        normalized: dict[str, pa.Table] | None,
        out_dir: Path,
        name: str,
        request: dict[str, Any],
        repos: tuple[str, ...],
        inputs: dict[str, Any],
    ) -> SnapshotOutcome:
        """A run of more teams than a partition: generated, aggregated and written partition by partition."""
        from pipeline.runners.executors import dask_address, open_executor
        from pipeline.runners.partitioned import write_partitioned_snapshot

        dask = dask_address(req.dask)
        where = f"Dask cluster {dask}" if dask else f"{req.workers} worker(s)"
        if not normalized:
            self.say("generate", "synthetic only: no real GitHub data (real share 0)", note=True)

        def params(info: GenerateInfo) -> dict[str, Any]:
            return {"mode": str(req.mode), "request": request, "source_repos": list(repos), "generate": info.as_json()}

        with open_executor(req.workers, dask) as executor:
            manifest, run = write_partitioned_snapshot(
                out_dir,
                plan,
                normalized,
                executor=executor,
                name=name,
                make_params=params,
                inputs=inputs,
                notes=lambda: self.notes,
            )
        prs = run.info.row_counts.get("metrics_pullrequest", 0)
        rows = sum(t.rows for t in manifest.tables.values())
        self.say(
            "generate",
            f"{prs} PRs, {rows} rows in {run.partitions} partitions of {plan.partition_teams} teams "
            f"on {where} in {run.seconds:.1f}s (aggregated and written with them)",
        )
        self.say("snapshot", f"{out_dir} (id {manifest.snapshot_id}, {len(manifest.tables)} tables in parts)")
        self.say("next", f"demoseed describe {out_dir}   |   demoseed load {out_dir} [--db-url URL]")
        return SnapshotOutcome(out_dir, manifest, notes=self.notes)

    def generate(
        self,
        req: SnapshotRequest,
        preset: Preset | None,
        normalized: dict[str, pa.Table] | None,
        inputs: dict[str, Any],
    ) -> Generated:
        from pipeline.runners.generate import generate_cached, project_cached

        if preset is not None:
            if not normalized:
                raise UserError(
                    f"project {preset.key}: no GitHub data cached for {', '.join(preset.repos)}; "
                    f"run 'demoseed fetch --project {preset.key}' (or set GITHUB_TOKEN) first"
                )
            gen = project_cached(preset, normalized, seed=req.generate.seed, anchor=req.generate.anchor, inputs=inputs)
        else:
            gen = generate_cached(req.generate, normalized, inputs)
        n_prs = gen.tables["metrics_pullrequest"].num_rows
        took = " (cached)" if gen.cached else f" in {gen.seconds:.1f}s"
        self.say("generate", f"{n_prs} PRs, {len(gen.tables)} tables{took}")
        if not normalized and not req.project:
            self.say("generate", "synthetic only: no real GitHub data (real share 0)", note=True)
        elif gen.real_share_reason:
            self.say("generate", f"synthetic only: {gen.real_share_reason}", note=True)
        else:
            self.say("generate", f"real share {gen.real_share:.1%}")
        return gen


def _what_generates(req: SnapshotRequest) -> tuple[Preset | None, Scenario | None, dict[str, Any]]:
    """The real project's preset or the scenario of the request (neither in legacy mode), and the
    scenario's text hash for the snapshot's inputs."""
    if req.mode is Mode.PROJECT:
        from pipeline.base import projects

        assert req.project is not None
        return projects.get_preset(req.project), None, {}
    if req.mode is Mode.SCENARIO:
        from pipeline.runners.generate import scenario_inputs
        from stages.generate.scenario import load_scenario

        assert req.generate.scenario is not None
        scenario = load_scenario(req.generate.scenario)
        return None, scenario, dict(scenario_inputs(scenario))
    return None, None, {}


def source_repos(req: SnapshotRequest, scenario: Scenario | None, preset: Preset | None) -> tuple[str, ...]:
    if req.repos:
        return tuple(req.repos)
    if preset is not None:
        return tuple(preset.repos)
    return tuple((scenario.source_repos if scenario is not None else ()) or DEFAULT_SOURCE_REPOS)


def _up_to_date(out_dir: Path, request_key: str) -> Manifest | None:
    """The manifest of ``out_dir`` when it is intact and was made by this request and version."""
    if not (out_dir / "manifest.json").is_file():
        return None
    try:
        manifest = verify_snapshot(out_dir, content=False)
    except (IntegrityError, UserError):
        return None
    return manifest if manifest.request_key == request_key and manifest.tool_version == __version__ else None


def run_snapshot(req: SnapshotRequest, echo: Callable[[str], None] = print) -> SnapshotOutcome:
    """Check ``req`` whole, then run every stage and write (or keep) the snapshot."""
    return SnapshotRun(echo).run(req)
