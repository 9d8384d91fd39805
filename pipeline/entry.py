"""The ``demoseed`` console script: loads the command line (:mod:`pipeline.cli`) and runs it.

A Ctrl-C while the command line is still loading ends quietly with
``interrupted`` and exit status 130, as it does once a command runs.

The garbage collector runs with demoseed's start-up tuning
(:func:`pipeline.base.tuning.start_command`, :func:`~pipeline.base.tuning.end_command`).
"""

from __future__ import annotations

import sys

from pipeline.base.tuning import end_command, start_command


def main() -> int:
    start_command()
    try:
        from pipeline.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write(("\n" if sys.stderr.isatty() else "") + "interrupted\n")
        return 130
    code = run()
    end_command()
    return code


if __name__ == "__main__":  # python -m pipeline.entry ... (as python -m pipeline ...)
    sys.exit(main())
