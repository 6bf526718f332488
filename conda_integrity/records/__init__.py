"""conda's records of a prefix (``conda-meta/*.json``): the record model, the reader,
the package-level fields the checks across records need, the package-cache copy of a
record, and the commands that fix a record."""
