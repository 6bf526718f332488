"""``conda integrity verify`` and its siblings: read a prefix, run the checks,
remember what the run learned, report; ``--all``; ``snapshot``, ``log`` and ``diff``."""
