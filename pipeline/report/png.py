"""One PNG per chart, rendered by vl-convert (Vega in an embedded JavaScript engine, no browser).

Each PNG carries a ``tEXt`` chunk ``Software: demoseed report`` (inserted
after the header, as the PNG format allows), so a later run knows which files
in a directory it wrote and may replace, and which are someone else's.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import vl_convert

from pipeline.report.charts import Chart
from pipeline.report.html import GENERATOR, VL_VERSION

SCALE = 2  # pixels per CSS pixel: sharp on slides and retina screens
SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = len(SIGNATURE) + 4 + 4 + 13 + 4  # signature, length, type, header data, CRC
_TEXT = b"Software\x00" + GENERATOR.encode()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    if png[:8] != SIGNATURE or png[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def render(chart: Chart) -> bytes:
    """The chart as PNG bytes, marked as written by demoseed report."""
    png = vl_convert.vegalite_to_png(chart.spec, vl_version=VL_VERSION, scale=SCALE, allowed_base_urls=[])
    size(png)  # a PNG with its header where the marker goes
    return png[:_IHDR_END] + _chunk(b"tEXt", _TEXT) + png[_IHDR_END:]


def is_ours(path: Path) -> bool:
    """Whether the file at ``path`` is a PNG this tool wrote."""
    with open(path, "rb") as fh:
        head = fh.read(_IHDR_END + 8 + len(_TEXT))
    return head[:8] == SIGNATURE and head[_IHDR_END + 4 :] == b"tEXt" + _TEXT
