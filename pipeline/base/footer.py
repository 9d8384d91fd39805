"""The row count in a Parquet file's footer, read without pyarrow.

``verify``, ``pack`` and ``unpack`` check each file's row count against the
manifest but read no rows; importing pyarrow (and numpy) for that would cost
more than the check. A Parquet file ends with its metadata, the length of the
metadata (4 bytes, little-endian) and ``PAR1``; the metadata is a Thrift
``FileMetaData`` struct in the compact protocol whose field 3 is ``num_rows``
(https://github.com/apache/parquet-format: Thrift definitions and the file
layout). :func:`footer_rows` walks the struct's fields up to that one,
skipping the others by their type, and raises :class:`ValueError` on anything
that is not such a footer (bounds and nesting are checked, so a damaged file
fails cleanly).
"""

from __future__ import annotations

import os
from pathlib import Path

MAGIC = b"PAR1"
_NUM_ROWS = 3  # FileMetaData field id
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)
_MAX_DEPTH = 64


def footer_rows(path: Path | str) -> int:
    """``num_rows`` of the Parquet file at ``path``; :class:`ValueError` when it has no readable footer."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size < 12:
            raise ValueError(f"{size} bytes: too small for a Parquet file")
        fh.seek(size - 8)
        tail = fh.read(8)
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != MAGIC:
            raise ValueError("no Parquet magic at the end of the file")
        if length > size - 12:
            raise ValueError(f"footer length {length} is larger than the file")
        fh.seek(size - 8 - length)
        return _Reader(fh.read(length)).num_rows()


class _Reader:
    """Thrift compact protocol over one buffer, reading only what finding ``num_rows`` needs."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def num_rows(self) -> int:
        field = 0
        while True:
            field, kind = self._field_header(field)
            if kind == _STOP:
                raise ValueError("the footer has no num_rows")
            if field == _NUM_ROWS:
                if kind != _I64:
                    raise ValueError("num_rows in the footer is not an integer")
                return self._zigzag()
            self._skip(kind, 0)

    def _byte(self) -> int:
        if self.pos >= len(self.data):
            raise ValueError("the footer ends early")
        self.pos += 1
        return self.data[self.pos - 1]

    def _varint(self) -> int:
        value = shift = 0
        while True:
            b = self._byte()
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ValueError("an integer in the footer is too long")

    def _zigzag(self) -> int:
        n = self._varint()
        return (n >> 1) ^ -(n & 1)

    def _field_header(self, last: int) -> tuple[int, int]:
        b = self._byte()
        kind, delta = b & 0x0F, b >> 4
        if kind == _STOP:
            return last, kind
        return (last + delta if delta else self._zigzag()), kind

    def _advance(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("the footer ends early")
        self.pos += n

    def _skip_item(self, kind: int, depth: int) -> None:
        """Skip a list, set or map element (a boolean there is a byte of its own)."""
        if kind in (_TRUE, _FALSE):
            self._advance(1)
        else:
            self._skip(kind, depth)

    def _skip(self, kind: int, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise ValueError("the footer nests too deep")
        if kind in (_TRUE, _FALSE):
            return  # a struct field's value is in its header
        if kind == _BYTE:
            self._advance(1)
        elif kind in (_I16, _I32, _I64):
            self._varint()
        elif kind == _DOUBLE:
            self._advance(8)
        elif kind == _BINARY:
            self._advance(self._varint())
        elif kind in (_LIST, _SET):
            header = self._byte()
            count, item = header >> 4, header & 0x0F
            if count == 15:
                count = self._varint()
            for _ in range(count):
                self._skip_item(item, depth + 1)
        elif kind == _MAP:
            count = self._varint()
            if count:
                types = self._byte()
                for _ in range(count):
                    self._skip_item(types >> 4, depth + 1)
                    self._skip_item(types & 0x0F, depth + 1)
        elif kind == _STRUCT:
            field = 0
            while True:
                field, inner = self._field_header(field)
                if inner == _STOP:
                    return
                self._skip(inner, depth + 1)
        else:
            raise ValueError(f"unknown Thrift type {kind} in the footer")
