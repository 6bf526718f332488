"""Putting a prefix back: repair of what verify found, and rollback to a snapshot,
through conda's own transaction machinery, with everything moved aside kept."""
