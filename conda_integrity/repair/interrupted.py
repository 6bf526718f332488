"""The two ways out of an interrupted transaction.

Back (the default): a rollback to the snapshot the guard took before the
transaction (:mod:`.rollback`): conda's ``.c~`` backups whose path is free are
put back, the rest of the leftovers and the files linked without a record are
moved aside, and conda's transaction makes the prefix hold that snapshot's
records exactly.

Forward: the same command run again, as conda would run it, once everything the
interruption left (``.c~`` backups, conda's temporary files, files linked
without a record) is moved aside into a backup: conda's unlink deletes an
``X.c~`` in its way, and it would write over the rest. The command is a guarded
conda command like any other, journaled by the guard itself, in ``warn`` mode
for that run: the interruption it finishes would make ``refuse`` stop it.

Only an entry the user running us wrote is a way out: another user's entry (root
finishing what a user left in the environment they own) is never run nor
planned from; going forward from it is refused, saying whose it is.

A transaction cut off in its last step, the history entry (every record
written, every unlink done), is finished instead by conda's own ``History``:
the revision and the spec lines it did not write (run again, a ``conda remove``
would find nothing left to remove), journaled as a rollback is.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from ..compat import CREATE_COMMANDS, names_target
from ..exceptions import IntegrityInputError
from ..observe.conda_history import HISTORY
from ..settings import WARN
from ..store import entry_writer, journal
from ..store.paths import guard_dirs_to_read
from ..store.state_dir import StateDir
from .backup import Backup
from .history import plan_history_back
from .rollback import RollbackPlan, plan_rollback, unfinished_entries

MODE_VARIABLE = "CONDA_PLUGINS_INTEGRITY_MODE"
#: conda's steps that its ``History`` finishes alone
HISTORY_STEPS = (journal.HISTORY, journal.HISTORY_SPECS)


@dataclass(frozen=True)
class Interruption:
    """An interrupted transaction and both ways out of it."""

    entry: journal.Entry
    #: back: a rollback to the snapshot taken before it (None: there is none, a create)
    back: RollbackPlan | None
    #: forward: conda's arguments to run again (the prefix named)
    forward: list[str]
    #: the environment
    prefix: str

    @property
    def command(self) -> str:
        return "conda " + shlex.join(self.forward)

    @property
    def history_left(self) -> bool:
        """conda did all its work but its history entry (nothing was rolled back)."""
        outcome = self.entry.outcome or {}
        return outcome.get("step") in HISTORY_STEPS and not outcome.get("history_out_of_step")

    @property
    def forward_words(self) -> str:
        """What going forward does, after moving aside what it left."""
        if self.history_left:
            return "then write the history entry conda did not finish (conda-meta/history)"
        return f"then run `{self.command}` again"


def interrupted_entry(prefix: str, by_runner: bool = True) -> journal.Entry | None:
    """The first guarded transaction that died without ending normally since the
    last one that did (a command run after it started from a damaged prefix), of
    those the user running us wrote (``by_runner``) or of those another user did."""
    found = _interrupted_in(prefix, by_runner)
    return found[1] if found else None


def _interrupted_in(prefix: str, by_runner: bool = True) -> tuple[StateDir, journal.Entry] | None:
    """:func:`interrupted_entry`, and the journal it is in."""
    for guard in guard_dirs_to_read(prefix):
        unfinished = unfinished_entries(guard, by_runner)
        if unfinished:
            return guard, unfinished[-1]
    return None


def plan_interruption(prefix: str) -> Interruption | None:
    """Both ways out of the prefix's interrupted transaction (None: there is none).
    Reads only."""
    found = _interrupted_in(prefix)
    if found is None:
        return None
    guard, entry = found
    if entry.state != journal.INTERRUPTED:
        entry = _judged(prefix, entry)
    back = plan_rollback(prefix, entry.before) if entry.before is not None else None
    if back is not None:
        back.history = plan_history_back(prefix, guard, entry)
        if back.history is not None:  # what is there now goes aside with it
            back.aside.pop(HISTORY, None)
    args = list(entry.argv[1:]) or [entry.command]
    if not names_target(args):
        args[1:1] = ["-p", prefix]
    return Interruption(entry, back, args, prefix)


def plan_forward(prefix: str) -> Interruption:
    """The way forward out of the prefix's interrupted transaction; IntegrityInputError
    when there is none, or only one another user wrote (saying whose, and what the
    runner may do instead)."""
    interruption = plan_interruption(prefix)
    if interruption is not None:
        return interruption
    theirs = interrupted_entry(prefix, by_runner=False)
    if theirs is not None:
        raise _refusal(prefix, theirs)
    raise IntegrityInputError(f"{prefix} has no interrupted transaction to finish")


def _refusal(prefix: str, entry: journal.Entry) -> IntegrityInputError:
    """Why going forward from an entry the runner did not write is refused: whose it
    is, where, and the runner's own commands, never the one it names."""
    target = shlex.quote(prefix)
    return IntegrityInputError(
        f"the interrupted transaction of {prefix} is {entry_writer.writer_name(entry)}'s "
        f"({entry_writer.where(entry)}), not yours: a command from another user's journal is "
        "never run; read that entry, then run "
        f"`conda integrity repair -p {target}` or `conda integrity rollback -p {target} N` "
        "(N: a snapshot of yours) yourself"
    )


def _judged(prefix: str, entry: journal.Entry) -> journal.Entry:
    """``entry`` as a read of the prefix judges it (what it left, the step it was
    cut off in), without writing the judgement."""
    from .journaled import read_before

    state = read_before(prefix, write=False).state
    return next((t.entry for t in state.transactions if t.entry.id == entry.id), entry)


def roll_forward(interruption: Interruption, backup: Backup, yes: bool) -> int:
    """Move aside what the interruption left, then run its command again in this
    process (conda's own command line); conda's exit code. IntegrityInputError for
    an entry the runner did not write."""
    if not entry_writer.by_runner(interruption.entry):
        raise _refusal(interruption.prefix, interruption.entry)
    if interruption.entry.command in CREATE_COMMANDS:
        raise IntegrityInputError(
            "a conda create cut off half-way is not finished over its half-made prefix: "
            f"remove it first, then run `{interruption.command}`"
        )
    plan = interruption.back
    if plan is not None:
        for path, why in sorted(plan.aside.items()) + [(p, _LEFT) for p in plan.restore]:
            if os.path.lexists(os.path.join(plan.prefix, path)):
                backup.move_aside(path, why)
    if interruption.history_left:
        _finish_history(interruption)
        return 0
    from conda.cli.main import main_subshell

    args = list(interruption.forward)
    if yes and not {"-y", "--yes"} & set(args):
        args.append("--yes")
    with _mode(WARN):
        return int(main_subshell(*args) or 0)


_LEFT = "left by a conda transaction that did not finish"


def _finish_history(interruption: Interruption) -> None:
    """Write what conda's history step did not: the revision (from the history's
    state to the records, as conda diffs them) unless it is there, and the spec
    lines of the plan; journaled, so that it ends the report of the interruption."""
    from conda.history import History

    from .journaled import journaled, read_before

    entry = interruption.entry
    prefix = interruption.prefix
    plan = entry.plan or {}
    with journaled(prefix, read_before(prefix), "rollback"):
        history = History(prefix)
        if entry.outcome.get("step") == journal.HISTORY:
            history.update()
        history.write_specs(*(plan.get(kind) or () for kind in journal.SPEC_KINDS))


@contextlib.contextmanager
def _mode(mode: str) -> Iterator[None]:
    """The guard's mode for a command run in this process (conda reads it anew)."""
    saved = os.environ.get(MODE_VARIABLE)
    os.environ[MODE_VARIABLE] = mode
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(MODE_VARIABLE, None)
        else:
            os.environ[MODE_VARIABLE] = saved
