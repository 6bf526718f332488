"""Repair the corrupt-record and duplicate-package findings of a prefix from its
snapshots on their own: ``python run_record_repair.py PREFIX``, in a process set
up as conda's own is (the sandbox's condarc), journaled as a repair is. Prints
what was left and why, one line each; exit code 1 when something was left."""

import sys

if __name__ == "__main__":
    from real_conda import ensure_conda

    ensure_conda()
    from conda.base.context import reset_context

    from conda_integrity.repair import journaled
    from conda_integrity.repair.backup import new_backup
    from conda_integrity.repair.from_snapshot import plan_record_repairs
    from conda_integrity.repair.rollback import carry_out

    reset_context()
    prefix = sys.argv[1]
    before = journaled.read_before(prefix)
    repairs = plan_record_repairs(prefix, before.findings)
    for finding, why in repairs.left:
        print(f"left {finding.code} {finding.path or finding.package}: {why}")
    if repairs.plan is not None:
        with journaled.journaled(prefix, before, "repair"):
            carry_out(repairs.plan, new_backup(prefix))
    sys.exit(1 if repairs.left else 0)
