"""Run conda's real command line with one function of conda-integrity made to fail:
``INTEGRITY_TEST_FAULT=module:function:raise`` (it raises RuntimeError) or
``module:function:sleep=SECONDS`` (it sleeps, then does its work), then
``python run_conda_with_fault.py ARGS`` like ``run_conda.py``.

Test-only: the shipped package has no way to make itself fail. The function is
replaced on its module before conda starts, so every caller that looks it up
there (the guard's hooks do, at call time) meets the fault.
"""

import importlib
import os
import sys
import time

FAULT = "INTEGRITY_TEST_FAULT"
MESSAGE = "a fault the test put here"


def inject(fault: str) -> None:
    module_name, function_name, kind = fault.split(":")
    module = importlib.import_module(module_name)
    original = getattr(module, function_name)

    def failing(*args, **kwargs):
        raise RuntimeError(MESSAGE)

    def slow(*args, **kwargs):
        time.sleep(float(kind.partition("=")[2]))
        return original(*args, **kwargs)

    setattr(module, function_name, failing if kind == "raise" else slow)


if __name__ == "__main__":
    from real_conda import ensure_conda

    ensure_conda()
    inject(os.environ[FAULT])
    from conda.cli.main import main

    sys.exit(main())
