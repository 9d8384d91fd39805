"""The ``demoseed`` console script: loads the command line (:mod:`pipeline.cli`) and runs it.

A Ctrl-C while the command line is still loading ends quietly with
``interrupted`` and exit status 130, as it does once a command runs.

The cyclic garbage collector starts a pass every 200,000 new container
objects instead of every 700. A fresh ``demoseed snapshot`` creates some
95,000, most while it loads numpy, pyarrow and polars, nearly all alive to the
end; with the default threshold the collector walked them some 140 times
(about a tenth of the run's time). Longer runs still collect, every 200,000.
When the command is done, the objects still alive are frozen
(:func:`gc.freeze`): the interpreter's shutdown runs full collections that
would walk all of them again, which cost more than those of the run (some
0.1 s after a snapshot). Commands close their files and connections
themselves (``with`` blocks, ``close()``); nothing waits for the collector.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (200_000, 10, 10)  # new objects per pass; the older generations as by default (x10, x10)


def main() -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        from pipeline.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write(("\n" if sys.stderr.isatty() else "") + "interrupted\n")
        return 130
    code = run()
    gc.freeze()
    return code


if __name__ == "__main__":  # python -m pipeline.entry ... (as python -m pipeline ...)
    sys.exit(main())
