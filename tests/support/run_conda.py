"""Run conda's real command line: ``python run_conda.py ARGS``.

Used by the tests and the demo in subprocesses, exactly like the ``conda``
executable. Import-safe, because conda's CUDA probe may spawn a child process
that re-imports ``__main__``.
"""

import sys

if __name__ == "__main__":
    from real_conda import ensure_conda

    ensure_conda()
    from conda.cli.main import main

    sys.exit(main())
