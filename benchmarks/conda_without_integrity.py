"""conda's command line with conda-integrity's plugin blocked: the guard benchmark's
baseline. (``--no-plugins`` would also drop the classic solver of conda-lock's
conda copy, whose module names do not start with ``conda.plugins.``.)"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
    from real_conda import ensure_conda

    ensure_conda()
    from conda.base.context import context

    manager = context.plugin_manager
    for name, plugin in list(manager.list_name_plugin()):
        if getattr(plugin, "__name__", "").startswith("conda_integrity"):
            manager.set_blocked(name)
    from conda.cli.main import main

    sys.exit(main())
