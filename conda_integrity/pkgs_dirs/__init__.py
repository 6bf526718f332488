"""``conda integrity verify --pkgs-dirs``: the package caches against their
packages' own metadata, and the environments that share a damaged file."""
