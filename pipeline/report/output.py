"""Where a report goes, written atomically, never over a file this tool did not write.

* The page goes to ``-o FILE`` (the user's explicit request: an existing file
  there is replaced; a directory is refused) or by default to
  ``data/reports/<snapshot names>.html``, replaced only when it is a page this
  tool wrote (``<meta name="generator" content="demoseed report">``).
* ``--png DIR`` gets ``<chart id>.png`` per chart; an existing file of that
  name is replaced only when it is a PNG this tool wrote (its ``tEXt`` mark).
  Every PNG is rendered before the first is written, and every clash is
  found before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import paths
from pipeline.base.atomic import atomic_write_bytes
from pipeline.base.errors import UserError
from pipeline.report import png
from pipeline.report.charts import Chart
from pipeline.report.html import GENERATOR
from pipeline.report.source import Story

_MARK = f'<meta name="generator" content="{GENERATOR}">'.encode()


def default_html_path(stories: list[Story]) -> Path:
    names = [s.directory.name for s in stories]
    stem = "+".join(names[:3]) + (f"+{len(names) - 3}-more" if len(names) > 3 else "")
    return paths.data_root() / "reports" / (re.sub(r"[^A-Za-z0-9._+-]+", "-", stem) + ".html")


def html_is_ours(path: Path) -> bool:
    with open(path, "rb") as fh:
        return _MARK in fh.read(512)


def check_html(path: Path, *, explicit: bool) -> None:
    """Raise UserError unless the page may be written to ``path``."""
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a file name for the report, e.g. -o {path / 'report.html'}")
    if path.exists() and not path.is_file():
        raise UserError(f"{path} exists and is not a regular file; give another -o FILE")
    if path.exists() and not explicit and not html_is_ours(path):
        raise UserError(f"{path} exists and was not written by demoseed report; give -o {path} to replace it")


def png_targets(charts: list[Chart], directory: Path) -> list[Path]:
    """The PNG paths of the charts in ``directory``; UserError when one would replace someone else's file."""
    if directory.exists() and not directory.is_dir():
        raise UserError(f"--png {directory}: not a directory; give a directory for the PNGs")
    targets = [directory / f"{c.id}.png" for c in charts]
    for target in targets:
        if target.exists() and (not target.is_file() or not png.is_ours(target)):
            raise UserError(
                f"{target} exists and was not written by demoseed report; remove it or give another --png directory"
            )
    return targets


def write(page: str, html_path: Path, pngs: dict[Path, bytes]) -> None:
    """Write the page and the PNGs, each atomically (checked beforehand with check_html / png_targets)."""
    atomic_write_bytes(html_path, page.encode("utf-8"))
    for path, image in pngs.items():
        atomic_write_bytes(path, image)
