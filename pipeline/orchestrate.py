"""The orchestrator: fetch -> normalize -> generate -> aggregate -> snapshot.

It is the only place that knows the order of the stages. Each stage is called
through its public function; what passes between them is tables. A stage
whose module does not exist yet is skipped with a message; a stage whose
inputs and parameters did not change is read back from ``data/work/``
(:mod:`pipeline.stagecache`) instead of running again, and a snapshot whose
request and inputs did not change is left as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline import __version__, paths
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.manifest import read_manifest, verify_snapshot, write_snapshot
from pipeline.base.parquet import read_table
from pipeline.base.schemas import NORMALIZED_TABLES, spec
from pipeline.stagecache import cached_stage, stage_key, tables_fingerprint

log = logging.getLogger(__name__)

DEFAULT_SOURCE_REPOS = ("yanchuk/github-issues-rag", "tiangolo/fastapi", "pallets/flask")


@dataclass(frozen=True)
class SnapshotRequest:
    """Everything `demoseed snapshot` was asked for (its flags)."""

    scenario: str | None = "ai-success"
    project: str | None = None
    seed: int = 42
    anchor: dt.date | None = None
    weeks: int | None = None
    real_share: float | None = None
    teams: int | None = None
    members: int | None = None
    prs: int | None = None
    team_slug: str | None = None
    no_github: bool = False
    real_data: Path | None = None
    repos: tuple[str, ...] = ()
    output: Path | None = None
    force: bool = False
    concurrency: int = 8

    def as_params(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("output", "force", "concurrency"):
            d.pop(k)
        d["anchor"] = self.anchor.isoformat() if self.anchor else None
        d["real_data"] = str(self.real_data) if self.real_data else None
        d["repos"] = list(self.repos)
        return d


@dataclass
class SnapshotOutcome:
    directory: Path
    manifest: dict[str, Any]
    skipped: bool = False
    notes: list[str] = field(default_factory=list)


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_name(req: SnapshotRequest, scenario_name: str | None) -> str:
    if req.project:
        return f"{req.project}-seed{req.seed}"
    if scenario_name:
        return f"{scenario_name}-seed{req.seed}"
    return f"legacy-t{req.teams}m{req.members}p{req.prs}-seed{req.seed}"


class Orchestrator:
    """Runs a snapshot request; ``echo`` receives one line per step for the console."""

    def __init__(self, echo: Callable[[str], None] = print) -> None:
        self.echo = echo
        self.notes: list[str] = []

    def say(self, stage: str, message: str, *, note: bool = False) -> None:
        self.echo(f"{stage:>9}: {message}")
        if note:
            self.notes.append(f"{stage}: {message}")

    # -- stages ---------------------------------------------------------------

    def source_repos(self, req: SnapshotRequest, scenario: Any, preset: Any) -> tuple[str, ...]:
        if req.repos:
            return tuple(req.repos)
        if preset is not None:
            return tuple(preset.repos)
        return tuple((scenario.source_repos if scenario is not None else ()) or DEFAULT_SOURCE_REPOS)

    def run_fetch(self, req: SnapshotRequest, repos: tuple[str, ...], max_prs: int | None = None) -> None:
        if req.no_github:
            self.say("fetch", "skipped (--no-github)")
            return
        if req.real_data:
            self.say("fetch", f"skipped (real data given: {req.real_data})")
            return
        fetch = _optional("stages.fetch")
        if fetch is None:
            self.say("fetch", "skipped (the fetch stage is not available in this build)", note=True)
            return
        token = fetch.resolve_token()
        if not token:
            self.say("fetch", "no GITHUB_TOKEN: using the raw cache only (set GITHUB_TOKEN, or run 'demoseed fetch')")
            return
        try:
            summary = fetch.fetch_repos(
                list(repos),
                raw_dir=paths.raw_github_dir(),
                token=token,
                api_url=paths.github_api_url(),
                concurrency=req.concurrency,
                progress=False,
                max_prs=max_prs,
            )
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

    def run_normalize(self, req: SnapshotRequest, repos: tuple[str, ...]) -> tuple[dict[str, pa.Table] | None, dict]:
        """Normalized gh_* tables for the source repos, or None when there is no real data."""
        if req.no_github:
            return None, {"real_data": "none", "reason": "--no-github"}
        if req.real_data:
            return self._read_real_data(req.real_data)
        fetch = _optional("stages.fetch")
        normalize = _optional("stages.normalize")
        if fetch is None or normalize is None:
            missing = "fetch" if fetch is None else "normalize"
            self.say("normalize", f"skipped (the {missing} stage is not available in this build)", note=True)
            return None, {"real_data": "none", "reason": f"{missing} stage not available"}
        raw_dir = paths.raw_github_dir()
        fingerprint = fetch.raw_fingerprint(raw_dir, list(repos))
        key = stage_key("normalize", {"repos": sorted(repos)}, {"raw": fingerprint})

        def compute() -> tuple[dict[str, pa.Table], dict[str, Any]]:
            raw = fetch.load_raw(raw_dir, list(repos))
            if raw.num_rows == 0:
                return {}, {"raw_rows": 0}
            result = normalize.normalize(raw)
            return result.tables, {"raw_rows": raw.num_rows, "report": result.report}

        tables, meta, hit = cached_stage(paths.work_dir(), "normalize", key, compute)
        inputs = {"raw_fingerprint": fingerprint, "repos": list(repos)}
        if not meta.get("raw_rows"):
            self.say("normalize", f"no cached GitHub data for {', '.join(repos)}", note=True)
            return None, {**inputs, "real_data": "none", "reason": "nothing cached for the source repos"}
        prs = tables["gh_pull_requests"]
        found = sorted(set(prs.column("repo").to_pylist()))
        missing = [r for r in repos if r not in found]
        also = f"; nothing cached for {', '.join(missing)}" if missing else ""
        self.say("normalize", f"{prs.num_rows} real PRs from {', '.join(found)}{' (cached)' if hit else ''}{also}")
        return tables, {**inputs, "real_data": "github-cache", "real_prs": prs.num_rows}

    def _read_real_data(self, directory: Path) -> tuple[dict[str, pa.Table], dict]:
        if not directory.is_dir():
            raise UserError(
                f"--real-data {directory}: no such directory (it should hold normalized gh_*.parquet files)"
            )
        tables = {}
        for s in NORMALIZED_TABLES:
            path = directory / f"{s.name}.parquet"
            if path.is_file():
                tables[s.name] = read_table(path, s)
        if "gh_pull_requests" not in tables:
            raise UserError(f"--real-data {directory}: no gh_pull_requests.parquet; run 'demoseed normalize' first")
        self.say("normalize", f"{tables['gh_pull_requests'].num_rows} real PRs from {directory}")
        return tables, {"real_data": str(directory)}  # run() records the tables' hashes in inputs.normalized

    # -- the whole run ----------------------------------------------------------

    def run(self, req: SnapshotRequest) -> SnapshotOutcome:
        preset = None
        scenario = None
        inputs: dict[str, Any] = {}
        if req.project:
            from pipeline.base.projects import get_preset

            preset = get_preset(req.project)
        generate = _optional("stages.generate")
        if generate is None:
            raise UserError("the generate stage is not available in this build; cannot make a snapshot")
        if preset is not None:
            project_mod = _optional("stages.generate.project")
            if project_mod is None:
                raise UserError("real-project mode is not available in this build")
        elif req.scenario:
            scenario = generate.load_scenario(req.scenario)
            if scenario.path is not None:  # a user's file; built-ins are hashed by their text
                inputs["scenario_file_sha256"] = _file_hash(scenario.path)
            else:
                inputs["scenario_sha256"] = hashlib.sha256(scenario.source_text.encode()).hexdigest()
        scenario_name = scenario.name if scenario is not None else None
        name = snapshot_name(req, scenario_name)
        out_dir = req.output or paths.snapshots_dir() / name

        repos = self.source_repos(req, scenario, preset)
        self.run_fetch(req, repos, max_prs=preset.max_prs_per_repo if preset is not None else None)
        normalized, real_inputs = self.run_normalize(req, repos)
        inputs["real"] = real_inputs
        if normalized:
            inputs["normalized"] = tables_fingerprint(normalized)

        request_key = stage_key("snapshot", req.as_params(), {"inputs": inputs})
        if not req.force and self._up_to_date(out_dir, request_key):
            manifest = read_manifest(out_dir)
            self.say("snapshot", f"{out_dir} is up to date (id {manifest['snapshot_id']}); --force rebuilds it")
            return SnapshotOutcome(out_dir, manifest, skipped=True, notes=self.notes)

        t0 = time.perf_counter()
        if preset is not None:
            if not normalized:
                raise UserError(
                    f"project {preset.key}: no GitHub data cached for {', '.join(preset.repos)}; "
                    f"run 'demoseed fetch --project {preset.key}' (or set GITHUB_TOKEN) first"
                )
            anchor = req.anchor
            gen_key = stage_key("project", {"project": preset.key, "seed": req.seed, "anchor": str(anchor)}, inputs)

            def compute() -> tuple[dict[str, pa.Table], dict[str, Any]]:
                res = project_mod.build_project(preset, normalized, seed=req.seed, anchor=anchor)
                return res.tables, res.info
        else:
            config = generate.GenerateConfig(
                scenario=req.scenario,
                seed=req.seed,
                anchor=req.anchor or dt.date.fromisoformat(paths.DEFAULT_ANCHOR),
                weeks=req.weeks,
                real_share=req.real_share,
                teams=req.teams,
                members=req.members,
                prs=req.prs,
                team_slug=req.team_slug,
            )
            gen_key = stage_key("generate", req.as_params(), inputs)

            def compute() -> tuple[dict[str, pa.Table], dict[str, Any]]:
                res = generate.generate(config, real=normalized)
                return res.tables, res.info

        tables, info, hit = cached_stage(paths.work_dir(), "generate", gen_key, compute)
        n_prs = tables["metrics_pullrequest"].num_rows
        realized = info.get("real_share_realized", info.get("real_share"))
        self.say(
            "generate",
            f"{n_prs} PRs, {len(tables)} tables{' (cached)' if hit else f' in {time.perf_counter() - t0:.1f}s'}",
        )
        if not normalized and not req.project:
            self.say("generate", "synthetic only: no real GitHub data (real share 0)", note=True)
        elif realized is not None:
            self.say("generate", f"real share {realized:.1%}")

        tables.update(self.run_aggregate(tables, info))

        params = {
            "mode": "project" if req.project else ("scenario" if req.scenario else "legacy"),
            "request": req.as_params(),
            "source_repos": list(repos),
            "generate": info,
        }
        inputs["request_key"] = request_key
        manifest = write_snapshot(out_dir, tables, name=name, params=params, inputs=inputs, notes=self.notes)
        self.say("snapshot", f"{out_dir} (id {manifest['snapshot_id']}, {len(manifest['tables'])} tables)")
        self.say("next", f"demoseed describe {out_dir}   |   demoseed load {out_dir} [--db-url URL]")
        return SnapshotOutcome(out_dir, manifest, notes=self.notes)

    def run_aggregate(self, tables: dict[str, pa.Table], info: dict[str, Any]) -> dict[str, pa.Table]:
        aggregate = _optional("stages.aggregate")
        if aggregate is None:
            self.say(
                "aggregate",
                "skipped (the aggregate stage is not available in this build): weekly tables empty",
                note=True,
            )
            return {"metrics_weeklymetrics": spec("metrics_weeklymetrics").schema.empty_table()}
        weeks = info.get("week_starts")
        week_starts = [dt.date.fromisoformat(w) for w in weeks] if weeks else None
        t0 = time.perf_counter()
        out = aggregate.aggregate(tables, week_starts=week_starts)
        rows = out["metrics_weeklymetrics"].num_rows
        self.say("aggregate", f"{rows} member-weeks in {time.perf_counter() - t0:.1f}s")
        return out

    @staticmethod
    def _up_to_date(out_dir: Path, request_key: str) -> bool:
        if not (out_dir / "manifest.json").is_file():
            return False
        try:
            manifest = verify_snapshot(out_dir, content=False)
        except (IntegrityError, UserError):
            return False
        return (
            manifest.get("inputs", {}).get("request_key") == request_key
            and manifest.get("tool", {}).get("version") == __version__
        )
