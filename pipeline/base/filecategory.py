"""The app's file classifier: ``metrics_prfile.file_category`` from a path alone.

The app (PRFile's static classifier, used by its own GitHub sync) gives every
changed file one of ``frontend``, ``backend``, ``javascript``, ``test``,
``docs``, ``config``, ``other``. demoseed gives the same answer in every mode
(synthetic catalog paths, blended and real-project files): normalize stores it
as ``gh_files.file_category``, generate classifies its synthetic paths here.
The rules (``docs/file-categories.md`` of the shared docs), first match wins,
on the lower-cased path:

1. test: the path contains ``/tests/``, ``/test/`` or ``/__tests__/``; or the
   base name starts with ``test_``/``test.``, is ``tests.py``, or contains
   ``_test.``, ``.test.``, ``.spec.``, ``_spec.``;
2. ``.js .ts .mjs .cjs``: by directory (with a leading ``/`` added): API
   routes -> backend, UI directories -> frontend, server directories ->
   backend, else javascript;
3. frontend, 4. backend, 5. docs, 6. config by extension;
7. config by base name (``dockerfile``, ``makefile``, ... or a dot file);
8. other.

:func:`file_category` is a polars expression over a path column;
:func:`category_of` the same for one path.
"""

from __future__ import annotations

import re

import polars as pl

CATEGORIES = ("frontend", "backend", "javascript", "test", "docs", "config", "other")

_TEST_DIRS = ("/tests/", "/test/", "/__tests__/")
_TEST_BASE_PARTS = ("_test.", ".test.", ".spec.", "_spec.")
_JS_EXTENSIONS = (".js", ".ts", ".mjs", ".cjs")
_JS_API = ("/pages/api/", "/app/api/", "/src/pages/api/", "/src/app/api/")
_JS_FRONTEND = (
    "/components/", "/hooks/", "/contexts/", "/composables/", "/store/", "/stores/", "/redux/", "/pinia/",
    "/vuex/", "/pages/", "/views/", "/layouts/", "/screens/", "/templates/", "/app/guards/", "/app/pipes/",
    "/app/directives/", "/frontend/", "/client/", "/web/", "/ui/", "/apps/web/", "/apps/dashboard/",
    "/apps/admin/", "/packages/ui/", "/packages/web/", "/packages/frontend/",
)  # fmt: skip
# The app compares a few patterns with capitals against the lower-cased path: they never match, and are
# kept here as the app has them so the list can be compared with it line by line.
_JS_BACKEND = (
    "/api/", "/apis/", "/endpoints/", "/routes/", "/routers/", "/controllers/", "/services/", "/handlers/",
    "/resolvers/", "/middleware/", "/middlewares/", "/models/", "/repositories/", "/database/", "/db/",
    "/migrations/", "/seeds/", "/prisma/", "/modules/", "/guards/", "/interceptors/", "/decorators/",
    "/schemas/", "/crud/", "/dependencies/", "/deps/", "/forms/", "/serializers/", "/management/",
    "/controller/", "/repository/", "/entity/", "/Controllers/", "/ViewModels/", "/Data/", "/app/Http/",
    "/app/Models/", "/app/Jobs/", "/database/factories/", "/lib/web/", "/live/", "/channels/", "/plugs/",
    "/app/controllers/", "/app/models/", "/app/jobs/", "/app/mailers/", "/backend/", "/server/",
    "/apps/api/", "/apps/server/", "/apps/backend/", "/packages/api/", "/packages/server/",
    "/packages/backend/", "/scripts/", "/bin/", "/cmd/",
)  # fmt: skip
_FRONTEND_EXTENSIONS = (
    ".jsx", ".tsx", ".vue", ".svelte", ".angular", ".dart", ".astro", ".razor", ".mdx", ".css", ".scss",
    ".sass", ".less", ".styl", ".stylus", ".html", ".htm", ".ejs", ".hbs", ".handlebars", ".pug", ".jade",
)  # fmt: skip
_BACKEND_EXTENSIONS = (
    ".py", ".pyw", ".pyx", ".php", ".phtml", ".php3", ".php4", ".php5", ".phps", ".rb", ".erb", ".rake",
    ".java", ".kt", ".kts", ".scala", ".groovy", ".clj", ".cljs", ".cs", ".fs", ".fsi", ".vb", ".go", ".rs",
    ".c", ".h", ".cpp", ".hpp", ".cc", ".hh", ".cxx", ".hxx", ".mjs", ".cjs", ".ex", ".exs", ".erl", ".hrl",
    ".swift", ".m", ".mm", ".pl", ".pm", ".lua", ".r", ".R", ".sh", ".bash", ".zsh", ".fish", ".sql", ".asm",
    ".s", ".S", ".vba", ".bas", ".zig", ".pas", ".dpr", ".dpk", ".lisp", ".cl", ".lsp", ".f", ".f90", ".f95",
    ".f03", ".f08", ".for", ".ada", ".adb", ".ads", ".ml", ".mli", ".gleam", ".hs", ".lhs", ".nim", ".cr",
    ".jl", ".d", ".v", ".zig", ".cob", ".cbl",
)  # fmt: skip
_DOCS_EXTENSIONS = (".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".wiki", ".rdoc", ".org", ".tex")
_CONFIG_EXTENSIONS = (
    ".json", ".yaml", ".yml", ".toml", ".ini", ".xml", ".env", ".conf", ".cfg", ".config", ".properties",
    ".lock", ".dockerfile", ".editorconfig", ".prettierrc", ".eslintrc", ".babelrc",
)  # fmt: skip
_CONFIG_NAMES = (
    "dockerfile", "makefile", "gemfile", "rakefile", "procfile", "vagrantfile", "brewfile", "jenkinsfile",
    "cakefile", ".gitignore", ".dockerignore", ".npmrc", ".nvmrc", ".ruby-version", ".python-version",
    ".node-version", ".tool-versions",
)  # fmt: skip
_TEST_ENDINGS = ("_test.go", "_test.py", "_test.rb", "_test.rs", "_test.ts", "_test.js")  # implied by "_test."


def _ends_with(col: pl.Expr, endings: tuple[str, ...]) -> pl.Expr:
    return col.str.contains("(?:" + "|".join(re.escape(e) for e in endings) + r")\z")


def _contains(col: pl.Expr, parts: tuple[str, ...]) -> pl.Expr:
    return col.str.contains_any(list(parts))


def file_category(path: pl.Expr) -> pl.Expr:
    """The app's category of each path (a polars String expression; a null path stays null)."""
    lower = path.str.to_lowercase()
    base = lower.str.replace(r"\A(?s:.*)/", "")
    rooted = pl.lit("/") + lower
    is_test = (
        _contains(lower, _TEST_DIRS)
        | base.str.starts_with("test_")
        | base.str.starts_with("test.")
        | (base == "tests.py")
        | _contains(base, _TEST_BASE_PARTS)
        | _ends_with(base, _TEST_ENDINGS)
    )
    return (
        pl.when(lower.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(is_test)
        .then(pl.lit("test"))
        .when(_ends_with(lower, _JS_EXTENSIONS))
        .then(
            pl.when(_contains(rooted, _JS_API))
            .then(pl.lit("backend"))
            .when(_contains(rooted, _JS_FRONTEND))
            .then(pl.lit("frontend"))
            .when(_contains(rooted, _JS_BACKEND))
            .then(pl.lit("backend"))
            .otherwise(pl.lit("javascript"))
        )
        .when(_ends_with(lower, _FRONTEND_EXTENSIONS))
        .then(pl.lit("frontend"))
        .when(_ends_with(lower, _BACKEND_EXTENSIONS))
        .then(pl.lit("backend"))
        .when(_ends_with(lower, _DOCS_EXTENSIONS))
        .then(pl.lit("docs"))
        .when(_ends_with(lower, _CONFIG_EXTENSIONS))
        .then(pl.lit("config"))
        .when(base.is_in(list(_CONFIG_NAMES)) | base.str.starts_with("."))
        .then(pl.lit("config"))
        .otherwise(pl.lit("other"))
        .alias("file_category")
    )


def category_of(path: str) -> str:
    """The app's category of one path."""
    value = pl.select(file_category(pl.lit(path, dtype=pl.String))).item()
    assert isinstance(value, str)
    return value
