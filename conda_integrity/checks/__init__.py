"""The checks ``conda integrity verify`` runs: one rule per module.

A check module declares its rule as ``CHECK`` (:class:`.base.Check`): the code it
reports, its severity and scope, and a function that reads the loaded prefix
(:class:`~conda_integrity.observe.prefix_state.PrefixState`: records, what the
disk showed, the walk of the prefix) and yields findings; it never touches the
disk itself. :mod:`.registry` collects them.
"""
