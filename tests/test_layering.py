"""Imports run one way: stages use only ``pipeline.base`` (and ``pipeline.__version__``) and never
another stage; ``pipeline.base`` uses nothing from the rest of ``pipeline`` nor any stage; and no
module loads project code by name through ``importlib``.

``KNOWN_OFFENDERS`` lists the imports that still break a rule, each owned by a
pending change; the test prints it (and the entries that no longer offend,
to be deleted) and fails when an import outside the list breaks a rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (importing file, imported module)
KNOWN_OFFENDERS: set[tuple[str, str]] = set()


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for top in ("pipeline", "stages"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _package_of(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1])  # a module's package, and an __init__'s own


def _is_module(dotted: str) -> bool:
    path = ROOT / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(rel: str, tree: ast.Module) -> Iterator[str]:
    """Every module a file imports (relative imports resolved; ``from pkg import name`` as ``pkg.name``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = _package_of(rel).split(".")
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join([*pkg, *([base] if base else [])])
            for alias in node.names:  # "from pkg import module" imports pkg.module; "from module import name", module
                sub = f"{base}.{alias.name}"
                yield sub if _is_module(sub) else base


def _violation(rel: str, imported: str) -> str | None:
    if rel.startswith("stages/"):
        own = ".".join(rel.split("/")[:2])
        if imported.startswith("pipeline.") and not (
            imported.startswith("pipeline.base") or imported == "pipeline.__version__"
        ):
            return "a stage imports pipeline outside pipeline.base"
        if imported.startswith("stages.") and imported.split(".")[1] != own.split(".")[1]:
            return "a stage imports another stage"
    if rel.startswith("pipeline/base/"):
        if imported.startswith("stages"):
            return "pipeline.base imports a stage"
        if imported.startswith("pipeline.") and not (
            imported.startswith("pipeline.base") or imported == "pipeline.__version__"
        ):
            return "pipeline.base imports pipeline outside base"
    return None


def _violations() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for rel, tree in _modules():
        for imported in _imports(rel, tree):
            why = _violation(rel, imported)
            if why:
                found[(rel, imported)] = why
    return found


def test_imports_run_one_way() -> None:
    found = _violations()
    print("known offenders (to be emptied):", sorted(KNOWN_OFFENDERS))
    new = {k: v for k, v in found.items() if k not in KNOWN_OFFENDERS}
    assert not new, f"layering violations: {new}"
    print("no longer offending (delete from KNOWN_OFFENDERS):", sorted(KNOWN_OFFENDERS - set(found)))


LOADERS = {"import_module", "__import__", "find_spec", "spec_from_file_location", "run_module"}


def _loads_project_code(node: ast.Call) -> bool:
    """``importlib.import_module(...)``/``__import__(...)`` of anything, or a project module named by a string."""
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
    if name not in LOADERS:
        return False
    if name in {"import_module", "__import__", "run_module"}:
        return True
    first = node.args[0] if node.args else None
    return isinstance(first, ast.Constant) and str(first.value).split(".")[0] in {"pipeline", "stages"}


def test_no_module_loads_project_code_by_name() -> None:
    users = [
        f"{rel}:{node.lineno}"
        for rel, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _loads_project_code(node)
    ]
    assert not users, users


def test_the_checker_sees_a_violation() -> None:
    tree = ast.parse("from stages.normalize import identity\nfrom pipeline import paths\nfrom ..fetch import x\n")
    got = set(_imports("stages/generate/x.py", tree))
    assert {"stages.normalize.identity", "pipeline.paths", "stages.fetch"} <= got
    assert _violation("stages/generate/x.py", "stages.normalize.identity") == "a stage imports another stage"
    assert _violation("stages/generate/x.py", "pipeline.paths") == "a stage imports pipeline outside pipeline.base"
    assert _violation("stages/generate/x.py", "pipeline.__version__") is None
    assert _violation("pipeline/base/x.py", "pipeline.stagecache") == "pipeline.base imports pipeline outside base"
    loader = ast.parse("importlib.import_module('pipeline.commands.' + name)").body[0]
    assert isinstance(loader, ast.Expr) and isinstance(loader.value, ast.Call) and _loads_project_code(loader.value)
