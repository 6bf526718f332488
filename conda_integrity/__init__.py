"""conda-integrity: keep conda environments honest.

Verifies every file of a conda environment against the records conda wrote
for it, as a conda plugin (``conda integrity``).
"""

try:
    from ._version import __version__
except ImportError:  # pragma: no cover (a source tree without build metadata)
    __version__ = "0.0.0"
