"""The automatic guard around conda's commands that change an environment: the
light adapter conda's hooks call (:mod:`.hooks`), and, imported only when a guarded
command runs, its entry points, checks, journal entry, messages and session."""
