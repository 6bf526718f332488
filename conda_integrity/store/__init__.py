"""Our own files: where they live, the one type every JSON state file is read and
written with, the journal of guarded transactions, snapshots and what changed
between two. Knows nothing of conda's records or of the checks."""
