"""The one exception type for mistakes a user can cause or fix.

Raise :class:`UserError` with a sentence that says what is wrong and what to
do; the CLI prints it on one line (no traceback) and exits with status 2.
"""

from __future__ import annotations


class UserError(Exception):
    """A bad flag, file, URL, token or input: one line, exit 2."""

    exit_code = 2


class IntegrityError(UserError):
    """A snapshot or table that does not match its manifest or schema."""


class SchemaError(UserError):
    """A table that does not match its declared schema (names table and column)."""


class DiskFull(UserError):
    """No space left on a disk the command writes to: one line, exit 1 in every command (the input was fine)."""

    exit_code = 1
