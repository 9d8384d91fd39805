"""Line numbers of keys in TOML text (Python 3.11's tomllib reports none for semantic errors)."""

from __future__ import annotations

import re


def _tables_and_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, current table e.g. ``archetypes[1]`` or ``curves``, line without comment)."""
    out = []
    current = ""
    counts: dict[str, int] = {}
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if m := re.fullmatch(r"\[\[\s*([^\]]+?)\s*\]\]", line):
            counts[m.group(1)] = counts.get(m.group(1), -1) + 1
            current = f"{m.group(1)}[{counts[m.group(1)]}]"
            out.append((no, "@header", current))
            continue
        if m := re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line):
            current = m.group(1)
            out.append((no, "@header", current))
            continue
        out.append((no, current, line))
    return out


def line_of(text: str, dotted: str) -> int | None:
    """The 1-based line where ``dotted`` (``curves.ai_share``, ``archetypes[2].volume``) is set.

    Falls back to the line of the enclosing table header when the key itself is absent.
    """
    parts = re.findall(r"[^.\[\]]+(?:\[\d+\])?", dotted)
    lines = _tables_and_lines(text)
    for k in range(len(parts) - 1, -1, -1):
        table, line_key = ".".join(parts[:k]), parts[k]
        pattern = re.compile(rf'^"?{re.escape(line_key)}"?\s*=')
        for no, current, line in lines:
            if current == table and pattern.match(line):
                return no
        for no, current, line in lines:
            if current == "@header" and line == ".".join(parts[: k + 1]):
                return no
    return None
