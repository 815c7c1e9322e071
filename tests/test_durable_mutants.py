"""The journal's durable writes (campaign/loop/durable.py): what reaches the disk, and when.

A journal line or a protected copy counts as written only once its bytes, not a buffer, are fsync'd, and a
replaced file's folder is fsync'd too (else the rename may be lost in a crash). These tests watch ``os.fsync``
and look at what each synced descriptor holds at that moment. Written against the surviving mutants
(docs/mutation.md).
"""

from __future__ import annotations

import os
import stat

import pytest

from campaign.loop import durable


@pytest.fixture
def synced(monkeypatch):
    """Each fsync as (is a folder, inode, size at that moment), then the real fsync."""
    seen: list[tuple[bool, int, int]] = []
    real = os.fsync

    def watch(fd):
        st = os.fstat(fd)
        seen.append((stat.S_ISDIR(st.st_mode), st.st_ino, st.st_size))
        return real(fd)

    monkeypatch.setattr(os, "fsync", watch)
    return seen


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_write_atomic_syncs_the_whole_data_then_the_folder(tmp_path, synced):
    path = tmp_path / "git" / "c" / "journal.jsonl"  # parent folders are created
    durable.write_atomic(path, b"one\ntwo\n")
    assert path.read_bytes() == b"one\ntwo\n"
    assert os.listdir(path.parent) == ["journal.jsonl"]  # no temporary file left beside it
    folder = os.stat(path.parent).st_ino
    # the data was flushed before its fsync (a buffered write would sync an empty file), the folder after
    assert synced == [(False, os.stat(path).st_ino, 8), (True, folder, synced[1][2])]


def test_write_atomic_replaces_a_file_whole(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"a much longer earlier content\n")
    durable.write_atomic(path, b"short\n")
    assert path.read_bytes() == b"short\n"
    durable.write_atomic(path, b"")
    assert path.read_bytes() == b""


def test_append_synced_flushes_before_the_fsync(tmp_path, synced):
    path = tmp_path / "j"
    path.write_bytes(b"head\n")
    with open(path, "ab") as fh:
        durable.append_synced(fh, b"line\n")
        assert synced == [(False, os.stat(path).st_ino, 10)]
    assert path.read_bytes() == b"head\nline\n"


def test_fsync_dir_syncs_the_folder_and_closes_it(tmp_path, synced):
    before = _open_fds()
    durable.fsync_dir(tmp_path)
    assert synced == [(True, os.stat(tmp_path).st_ino, synced[0][2])]
    assert _open_fds() == before


def test_fsync_dir_of_a_missing_folder_does_nothing(tmp_path, synced):
    before = _open_fds()
    durable.fsync_dir(tmp_path / "gone")
    assert synced == [] and _open_fds() == before


def test_fsync_dir_where_fsync_fails_still_closes(tmp_path, monkeypatch):
    def refuse(fd):
        raise OSError(22, "not supported")

    monkeypatch.setattr(os, "fsync", refuse)
    before = _open_fds()
    durable.fsync_dir(tmp_path)  # some file systems refuse to sync a folder: not an error
    assert _open_fds() == before


def test_read_bytes(tmp_path):
    assert durable.read_bytes(None) is None  # no copy kept
    assert durable.read_bytes(tmp_path / "none") is None
    (tmp_path / "f").write_bytes(b"x\n")
    assert durable.read_bytes(tmp_path / "f") == b"x\n"
    (tmp_path / "empty").write_bytes(b"")
    assert durable.read_bytes(tmp_path / "empty") == b""


def test_truncate_takes_back_a_half_done_append(tmp_path):
    path = tmp_path / "j"
    path.write_bytes(b"whole\nhalf a li")
    durable.truncate(path, 6)
    assert path.read_bytes() == b"whole\n"
    durable.truncate(path, 0)
    assert path.read_bytes() == b""


def test_truncate_without_a_file_does_nothing(tmp_path):
    durable.truncate(None, 0)
    durable.truncate(tmp_path / "gone", 0)  # best effort: never raises
    assert not (tmp_path / "gone").exists()  # and never creates the file


def test_a_write_cut_before_its_rename_leaves_the_file_whole_and_a_leftover_git_ignores(tmp_path, monkeypatch):
    """The temporary file ends in ``.tmp``: the record folder's .gitignore (``*.tmp``) keeps a crash's
    leftover out of the record's commits, and ``demo`` leaves it out of its copy."""
    import fnmatch

    from campaign.loop.steps.init import RECORD_GITIGNORE

    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"old\n")

    def crash(src, dst):
        raise KeyboardInterrupt  # killed between the write and the rename

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        durable.write_atomic(path, b"new\n")
    assert path.read_bytes() == b"old\n"
    (leftover,) = [name for name in os.listdir(tmp_path) if name != "journal.jsonl"]
    assert leftover.startswith("journal.jsonl") and (tmp_path / leftover).read_bytes() == b"new\n"
    assert any(fnmatch.fnmatchcase(leftover, pattern) for pattern in RECORD_GITIGNORE.split())
