"""Where a finished campaign's record is read from once FINISH left it off the user's branch.

FINISH merges the code change and leaves the record on the campaign branch
(``campaign.loop.steps.finish.merge_leaves_out``), so after it ``optim/<name>/``
is no longer in the user's tree. ``locate`` gives ``review``, ``report`` and
``replay`` the same path they were always given: when it is missing from the
work tree and the campaign's ``post-optimization`` mark exists, the record
is read from that commit (``git archive``) into ``<git dir>/campaign/<name>/record-<commit>/``,
a copy outside the work tree that no build packs.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


def _repo_root(path: Path) -> Path | None:
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    out = subprocess.run(["git", "rev-parse", "--show-toplevel", "--absolute-git-dir"], cwd=probe,
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return Path(out.stdout.splitlines()[0])


def locate(record_dir: Path) -> Path:
    """``record_dir`` itself when it holds a journal; else its copy from the campaign's post-optimization mark."""
    record_dir = Path(record_dir)
    if (record_dir / "journal.jsonl").exists():
        return record_dir
    root = _repo_root(record_dir)
    if root is None:
        return record_dir
    try:
        rel = record_dir.absolute().relative_to(root).as_posix()
    except ValueError:
        return record_dir
    name = record_dir.name
    git_dir = Path(subprocess.run(["git", "rev-parse", "--absolute-git-dir"], cwd=root, capture_output=True,
                                  text=True).stdout.strip())
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/campaign/{name}/post-optimization^{{commit}}"],
                           cwd=root, capture_output=True, text=True)
    sha = found.stdout.strip()
    if found.returncode != 0 or not sha:
        return record_dir
    dest = git_dir / "campaign" / name / f"record-{sha[:12]}"
    copy = dest / rel
    if (copy / "journal.jsonl").exists():
        return copy
    archive = subprocess.run(["git", "archive", "--format=tar", sha, "--", rel], cwd=root, capture_output=True)
    if archive.returncode != 0:
        return record_dir
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return copy if (copy / "journal.jsonl").exists() else record_dir
