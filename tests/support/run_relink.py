"""Relink installed packages through the repair primitives on their own:
``python run_relink.py [--journaled] PREFIX NAME ...``, in a process set up as
conda's own is (the sandbox's condarc); ``--journaled`` journals the relink as a
repair does (:mod:`conda_integrity.repair.journaled`)."""

import sys

if __name__ == "__main__":
    from real_conda import ensure_conda

    ensure_conda()
    from conda.base.context import reset_context
    from conda.core.prefix_data import PrefixData

    from conda_integrity.repair import journaled
    from conda_integrity.repair.transaction import relink

    reset_context()
    args = sys.argv[1:]
    journal = args[0] == "--journaled"
    prefix, names = args[journal], args[journal + 1 :]
    records = [PrefixData(prefix).get(name) for name in names]
    if journal:
        with journaled.journaled(prefix, journaled.read_before(prefix), "repair") as session:
            journaled.record_plan(session, records, records)
            relink(prefix, records, records)
    else:
        relink(prefix, records, records)
