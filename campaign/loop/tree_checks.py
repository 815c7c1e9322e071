"""Checks on the files an attempt changed, before TEST trusts them.

A scope file replaced by a symlink that points outside the repository would
be tested, benchmarked and committed although the code it runs is not in
the repository (nor in the patch, nor in a replay): TEST refuses it and
names the file.
"""

from __future__ import annotations

import os
from pathlib import Path


def symlinks_leaving(root: Path, files: list[str]) -> list[str]:
    """The paths among ``files`` (relative to ``root``) that are symlinks resolving outside ``root``, sorted."""
    root = Path(root).resolve()
    leaving = []
    for rel in files:
        path = Path(root) / rel
        if not path.is_symlink():
            continue
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(root):
            leaving.append(rel)
    return sorted(leaving)


def symlink_failures(root: Path, files: list[str]) -> list[dict]:
    """TEST failures (the ``test`` event's shape) for every changed symlink that leaves the repository."""
    failures = []
    for rel in symlinks_leaving(root, files):
        target = os.readlink(Path(root) / rel)
        failures.append({
            "output": "(scope)", "expected": None, "actual": rel, "tolerance": None,
            "message": (f"{rel} is a symlink to {target}, outside the repository: the campaign can only test and "
                        f"commit code the repository holds; put the file itself in the repository"),
        })
    return failures
