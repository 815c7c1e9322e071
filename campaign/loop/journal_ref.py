"""A third copy of the journal in git's object store: ``refs/campaign/<name>/journal``.

The journal lives in the work tree and its protected copy under
``<git dir>/campaign/``: both are plain files that an agent's ``rm -rf``
(or a workload's clean-up) can reach by accident. After every append the
whole journal is also stored as one git blob and the ref
``refs/campaign/<name>/journal`` pointed at it. Deleting files does not
touch the object store or the refs, ``git gc`` keeps what a ref names, and
the next command restores both files from it (``Journal``'s ``mirror``).

One blob of the whole journal rather than a commit chain of single
events: a restore is one read, and a journal is small (about 1 KB per event;
the loose object is zlib-compressed, and ``git gc`` delta-packs the old ones).
Objects are written with gitdb's ``LooseObjectDB`` (GitPython's own object
store, no ``git`` process per event); the ref file is replaced atomically.
A ref that ``git pack-refs`` moved into ``packed-refs`` is still read.
"""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

REF_ROOT = "refs/campaign"


def common_dir(git_dir: Path) -> Path:
    """The folder that holds ``objects/`` and ``refs/`` (a linked worktree's git dir names it in ``commondir``)."""
    try:
        text = (git_dir / "commondir").read_text().strip()
    except OSError:
        return git_dir
    path = Path(text)
    return path if path.is_absolute() else (git_dir / path).resolve()


class JournalRef:
    """The journal's blob under ``refs/campaign/<name>/journal`` (``read``/``write`` whole journals as bytes)."""

    def __init__(self, git_dir: Path, name: str):
        self.root = common_dir(Path(git_dir))
        self.ref = f"{REF_ROOT}/{name}/journal"
        self.ref_path = self.root / self.ref

    def sha(self) -> str | None:
        try:
            text = self.ref_path.read_text().strip()
        except OSError:
            text = ""
        if text:
            return text
        try:
            packed = (self.root / "packed-refs").read_text()
        except OSError:
            return None
        for line in packed.splitlines():
            sha, _, ref = line.partition(" ")
            if ref.strip() == self.ref:
                return sha
        return None

    def read(self) -> bytes | None:
        """The journal as last stored, or None (no ref, or an object git cannot give back)."""
        sha = self.sha()
        if not sha:
            return None
        try:
            from gitdb import LooseObjectDB
            from gitdb.util import hex_to_bin

            loose = LooseObjectDB(str(self.root / "objects"))
            if loose.has_object(hex_to_bin(sha)):
                return loose.stream(hex_to_bin(sha)).read()
            import git  # packed by `git gc`: ask git itself

            data = git.Git(str(self.root)).execute(["git", f"--git-dir={self.root}", "cat-file", "blob", sha],
                                                   stdout_as_string=False, strip_newline_in_stdout=False)
            return bytes(data)
        except Exception:  # noqa: BLE001 - a damaged object store is not a reason to fail: the two file copies decide
            return None

    def write(self, data: bytes) -> None:
        """Store ``data`` as a blob and point the ref at it (raises OSError when git's folder is not writable)."""
        from gitdb import IStream, LooseObjectDB

        stream = LooseObjectDB(str(self.root / "objects")).store(IStream(b"blob", len(data), BytesIO(data)))
        self.ref_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.ref_path.with_name(f".{self.ref_path.name}.{os.getpid()}.tmp")
        tmp.write_text(stream.hexsha.decode() + "\n")
        os.replace(tmp, self.ref_path)

    def delete(self) -> None:
        try:
            self.ref_path.unlink()
        except OSError:
            pass


def ref_names(git_dir: Path) -> list[str]:
    """Campaigns with a journal ref (loose or packed)."""
    root = common_dir(Path(git_dir))
    names = {p.parent.name for p in (root / REF_ROOT).glob("*/journal")}
    try:
        packed = (root / "packed-refs").read_text()
    except OSError:
        packed = ""
    for line in packed.splitlines():
        ref = line.partition(" ")[2].strip()
        parts = ref.split("/")
        if len(parts) == 4 and ref.startswith(REF_ROOT + "/") and parts[3] == "journal":
            names.add(parts[2])
    return sorted(names)
