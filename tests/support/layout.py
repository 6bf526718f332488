"""Where the project's files are: a git checkout, or an unpacked sdist.

The sdist ships the tests (see pyproject.toml), but not what only the repository
has: ``.ci/``, ``recipe/`` and the git history. Tests that read those are marked
``repository_only`` and skip in an unpacked sdist, which hatchling marks with a
``PKG-INFO`` at the top (a checkout never has one: it is generated, not tracked).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_SDIST = (ROOT / "PKG-INFO").is_file()

SDIST_LACKS = "reads .ci/, recipe/ or git history, which the sdist does not ship"
repository_only = pytest.mark.skipif(IN_SDIST, reason=SDIST_LACKS)
