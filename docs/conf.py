"""Sphinx configuration of the conda-integrity documentation (MyST Markdown, conda's theme).

Build: ``.venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html``.
The command reference is generated from the real parsers (sphinx-argparse), which
need a conda to import: the test suite's (``tests/support/real_conda.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.real_conda import ensure_conda  # noqa: E402

ensure_conda()

from conda_integrity import __version__  # noqa: E402

project = "conda-integrity"
author = "conda-integrity developers"
copyright = "conda-integrity developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["myst_parser", "sphinxarg.ext"]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "requirements.txt"]

html_theme = "conda_sphinx_theme"
html_title = "conda-integrity"
html_theme_options = {
    "github_url": "https://github.com/conda-incubator/conda-integrity",
    "show_prev_next": False,
    "zulip_url": "",
}
# the theme's own files only: no page of this site loads anything from elsewhere
html_static_path: list[str] = []
