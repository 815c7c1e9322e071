"""The record's manifest: the sha256 of every file a replay of it would execute.

Replay rebuilds a campaign from its record: the baseline snapshot (code and
``campaign.toml`` commands), every patch, steered by the journal and checked
against the baseline's outputs (the snapshot is ``baseline_snapshot.tar.gz``,
or an older record's ``baseline_snapshot/`` folder). ``manifest(record_dir)``
hashes exactly those files; its digest names one exact record. ``campaign
finish`` writes it beside the record (``manifest.json``) before the record's
final commit, so it is committed with the record; ``campaign.review.trust`` decides from the
digest whether this machine made the record.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
COVERED_FILES = ("journal.jsonl", "baseline.json", "baseline_snapshot.tar.gz")
COVERED_DIRS = ("baseline_snapshot", "patches", "baseline_results")


def _file_digest(path: Path) -> str:
    if path.is_symlink():  # a link is covered by where it points, never followed out of the record
        return "symlink:" + os.readlink(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(record_dir: Path) -> dict[str, Any]:
    """``{version, files: {relative path: sha256}}`` of every file a replay of ``record_dir`` uses."""
    record_dir = Path(record_dir)
    files: dict[str, str] = {}
    for name in COVERED_FILES:
        path = record_dir / name
        if path.exists() or path.is_symlink():
            files[name] = _file_digest(path)
    for name in COVERED_DIRS:
        root = record_dir / name
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() or path.is_symlink():
                files[path.relative_to(record_dir).as_posix()] = _file_digest(path)
    return {"version": MANIFEST_VERSION, "files": dict(sorted(files.items()))}


def manifest_digest(data: dict[str, Any]) -> str:
    """The digest that names one exact record (pure)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()


def changed_files(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Files added, removed or altered between two manifests (pure)."""
    old, new = recorded.get("files") or {}, current.get("files") or {}
    return sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))


def read_manifest(record_dir: Path) -> dict[str, Any] | None:
    """The manifest written with the record, or None (none, or not readable)."""
    try:
        data = json.loads((Path(record_dir) / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_manifest(record_dir: Path) -> str:
    """Write ``record_dir/manifest.json`` (only when its bytes change); returns the digest."""
    record_dir = Path(record_dir)
    data = manifest(record_dir)
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    path = record_dir / MANIFEST_NAME
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(MANIFEST_NAME + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return manifest_digest(data)
