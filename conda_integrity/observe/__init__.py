"""Reading a prefix, judging nothing: the walk of its folders, what the disk shows
for every owned file, modes, ``conda-meta/history``, site-packages, dependencies,
environment files, the package caches, and :class:`.prefix_state.PrefixState`, the
read model the checks are given."""
