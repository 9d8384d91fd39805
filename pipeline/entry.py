"""The ``demoseed`` console script: loads the command line (:mod:`pipeline.cli`) and runs it.

A Ctrl-C while the command line is still loading ends quietly with
``interrupted`` and exit status 130, as it does once a command runs.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from pipeline.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return run()
