"""The ``demoseed`` command line: one subcommand per stage plus snapshot/load/verify/...

Each subcommand lives in ``pipeline/commands/<name>.py`` (a click command
named ``command``, or ``pack_command``/``unpack_command``) and is registered
here by a plain import, in the order ``--help`` lists them. Command modules
import only click at the top; the stages (and pyarrow, polars, duckdb) are
imported inside the command functions, so ``demoseed --help`` stays fast.

Errors a user can cause raise :class:`pipeline.base.errors.UserError`; :func:`main`
prints them on one line (no traceback) and exits 2.
"""

from __future__ import annotations

import errno
import os
import re
import sys

import click

from pipeline import __version__
from pipeline.base.errors import UserError
from pipeline.commands import (
    aggregate,
    check,
    describe,
    fetch,
    generate,
    load,
    normalize,
    pack,
    projects,
    report,
    scenarios,
    snapshot,
    verify,
)


class _OrderedGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_OrderedGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="demoseed")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Reproducible demo data for an engineering-metrics app.

    \b
    Typical use:
      demoseed snapshot --scenario review-bottleneck --seed 42
      demoseed load data/snapshots/review-bottleneck-seed42 --db-url postgresql://user@host/app
    """
    import logging

    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")


# The stages in pipeline order, then the rest.
for _command in (
    fetch.command,
    normalize.command,
    generate.command,
    aggregate.command,
    snapshot.command,
    load.command,
    check.command,
    verify.command,
    pack.pack_command,
    pack.unpack_command,
    describe.command,
    report.command,
    scenarios.command,
    projects.command,
):
    cli.add_command(_command)


_TEMPORARY = re.compile(r"(^|/)\.([^/]+)\.(?:tmp|old|unpack)-[0-9]+(?=/|$)")  # pipeline.base.atomic's names


def user_path(filename: object) -> str:
    """A path as the user knows it: ``.NAME.tmp-PID`` (a write in progress) shown as ``NAME``."""
    return _TEMPORARY.sub(r"\1\2", os.fsdecode(filename) if isinstance(filename, (str, bytes)) else str(filename))


def os_error_line(exc: OSError) -> str:
    """One line for an operating-system error, and what to do about it."""
    where = f" ({user_path(exc.filename)})" if exc.filename else ""
    if exc.errno == errno.ENOSPC or "No space left on device" in str(exc):
        return f"no space left on device{where}; free some space and run again (the previous output is unchanged)"
    text = exc.strerror or str(exc)
    return " ".join(f"{text}{where}".split())


def interrupted() -> int:
    """Ctrl-C: ``interrupted`` on its own line (after the terminal's ``^C``), exit status 130."""
    click.echo(("\n" if sys.stderr.isatty() else "") + "interrupted", err=True)
    return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    The command line is parsed and run here rather than by ``cli.main``: click's
    own loop turns Ctrl-C into ``Abort`` after writing a blank line, and every
    outcome (an error, Ctrl-C, a closed pipe) is written here as one line."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        cli._main_shell_completion({}, "demoseed")
        with cli.make_context("demoseed", args) as ctx:
            rv = cli.invoke(ctx)
    except UserError as exc:
        # One line, whatever the message holds (exceptions quoted inside may span lines).
        click.echo("error: " + " ".join(str(exc).split()), err=True)
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        return interrupted()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        # ``demoseed`` alone: the help, as --help prints it (on stderr, exit 2: nothing ran, as click does)
        exc.show()
        return exc.exit_code
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "demoseed"
        click.echo("error: " + " ".join(exc.format_message().split()) + f" (see '{where} --help')", err=True)
        return 2
    except click.ClickException as exc:
        click.echo("error: " + " ".join(exc.format_message().split()), err=True)
        return 2
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:  # a full disk, a read-only directory, ...: the writes are atomic, nothing half-done
        click.echo("error: " + os_error_line(exc), err=True)
        return 1
    # ctx.exit(n) inside a command raises Exit (above); a command's return value is its status when an int.
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
