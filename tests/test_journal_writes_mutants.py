"""The journal's writes (campaign/loop/journal.py): both files or neither, the mirror, restores, and errors
that name the file at fault.

What the campaign relies on: an append that fails leaves the journal and its protected copy as they were
(no half line, no line in one file only); a copy that disagrees is never healed silently by an append; the
mirror in git objects stands in for a lost copy. Faults are injected where the disk would refuse (an open,
a write that fails half way, an unwritable folder). Written against the surviving mutants (docs/mutation.md).
"""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from campaign.errors import JournalError
from campaign.loop import journal as jmod
from campaign.loop.journal import CopyCheck, Journal


def line(number, type_="agent"):
    event = {"schema": 1, "seq": number, "ts": "t", "type": type_, "iteration": None, "data": {}}
    return json.dumps(event).encode() + b"\n"


def lines(n):
    return b"".join(line(i + 1, "init" if i == 0 else "agent") for i in range(n))


class Mirror:
    """The copy in git objects (``journal_ref``), in memory."""

    def __init__(self, data: bytes | None = None, fail: bool = False):
        self.data, self.fail, self.writes = data, fail, []

    def read(self):
        return self.data

    def write(self, data: bytes):
        if self.fail:
            raise OSError(errno.EROFS, "Read-only file system")
        self.writes.append(data)
        self.data = data


def unwritable(path, exc_text):
    return (f"cannot write {path} ({exc_text}): the journal and its protected copy are written together or not "
            f"at all, so nothing was recorded and the two still agree. A read-only .git or record folder (an "
            f"agent's sandbox, a read-only mount) cannot hold a campaign step: run the command where both are "
            f"writable.")


def _campaign(tmp_path, events=1, **kwargs):
    journal = Journal(tmp_path / "rec", copy_dir=tmp_path / "git", **kwargs)
    for i in range(events):
        journal.append("init" if i == 0 else "agent", {})
    return journal


# -- the copy follows the journal -----------------------------------------------------------


def test_the_copy_folder_is_created_with_its_parents(tmp_path):
    journal = Journal(tmp_path / "rec", copy_dir=tmp_path / ".git" / "campaign" / "c")
    journal.append("init", {})
    assert (tmp_path / ".git" / "campaign" / "c" / "journal.jsonl").read_bytes() == journal.path.read_bytes()


def test_a_lost_copy_is_written_whole_again_by_the_next_append(tmp_path):
    journal = _campaign(tmp_path, 2)
    journal.copy_path.unlink()
    journal.append("agent", {})
    assert journal.copy_path.read_bytes() == journal.path.read_bytes() and journal.check_copy().state == "ok"


def test_an_append_does_not_heal_a_copy_that_disagrees(tmp_path):
    """A copy of the journal's size but other content is evidence: it gets the new line, and stays diverged."""
    journal = _campaign(tmp_path, 2)
    other = journal.path.read_bytes().replace(b'"type": "agent"', b'"type": "think"')  # line 2, same size
    assert other != journal.path.read_bytes() and len(other) == journal.copy_path.stat().st_size
    journal.copy_path.write_bytes(other)
    journal.append("agent", {})
    assert journal.copy_path.read_bytes() == other + journal.path.read_bytes().splitlines(keepends=True)[2]
    assert journal.check_copy() == CopyCheck("diverged", 3, 3, 2)


# -- both or neither -------------------------------------------------------------------------


def _fail_half_way(monkeypatch, target):
    """Writes to ``target`` stop half way through a line (a full disk)."""
    real = jmod.append_synced

    def append(fh, data):
        if os.fspath(fh.name) == os.fspath(target):
            fh.write(data[:5])
            fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fh, data)

    monkeypatch.setattr(jmod, "append_synced", append)


@pytest.mark.parametrize("failing", ["path", "copy_path"])
def test_a_line_that_fails_half_way_leaves_both_files_as_they_were(tmp_path, monkeypatch, failing):
    # the journal's line failing takes its copy's line back; the copy's failing leaves the journal untouched
    journal = _campaign(tmp_path, 2)
    before = journal.path.read_bytes()
    _fail_half_way(monkeypatch, getattr(journal, failing))
    with pytest.raises(JournalError) as info:
        journal.append("agent", {})
    assert str(info.value) == unwritable(getattr(journal, failing), "No space left on device")
    assert journal.path.read_bytes() == before == journal.copy_path.read_bytes()


def test_a_failed_journal_line_leaves_a_lagging_copy_as_it_was(tmp_path, monkeypatch):
    journal = _campaign(tmp_path, 2)
    journal.copy_path.write_bytes(lines(1))  # one event behind: rewritten only after a journal line
    _fail_half_way(monkeypatch, journal.path)
    with pytest.raises(JournalError):
        journal.append("agent", {})
    assert journal.copy_path.read_bytes() == lines(1) and journal.path.read_bytes().count(b"\n") == 2


def test_a_first_line_that_fails_half_way_leaves_an_empty_journal(tmp_path, monkeypatch):
    journal = Journal(tmp_path)
    _fail_half_way(monkeypatch, journal.path)
    with pytest.raises(JournalError, match="No space left on device"):
        journal.append("init", {})
    assert journal.path.read_bytes() == b""


def _refuse_to_open(monkeypatch, target):
    def fake_open(path, mode="r", *args, **kwargs):
        if os.fspath(path) == os.fspath(target) and "a" in mode:
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(jmod, "open", fake_open, raising=False)  # journal.py's own open only


@pytest.mark.parametrize("events", [0, 1])  # no copy yet / a copy in step, opened first
def test_a_journal_that_cannot_be_opened_refuses_the_append_and_names_itself(tmp_path, monkeypatch, events):
    journal = _campaign(tmp_path, events)
    before, copy_before = jmod.read_bytes(journal.path), jmod.read_bytes(journal.copy_path)
    _refuse_to_open(monkeypatch, journal.path)
    with pytest.raises(JournalError) as info:
        journal.append("init" if events == 0 else "agent", {})
    assert str(info.value) == unwritable(journal.path, "Read-only file system")
    assert jmod.read_bytes(journal.path) == before and jmod.read_bytes(journal.copy_path) == copy_before


def test_an_unwritable_copy_folder_refuses_before_the_journal_changes(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "rec", copy_dir=tmp_path / "git")
    monkeypatch.setattr(jmod.os, "access", lambda path, mode: False)  # a read-only .git (even for root)
    with pytest.raises(JournalError) as info:
        journal.append("init", {})
    assert str(info.value) == unwritable(journal.copy_path, "not writable")
    assert not journal.path.exists() and not journal.copy_path.exists()


# -- the mirror (journal_ref) --------------------------------------------------------------


def test_every_append_stores_the_whole_journal_in_the_mirror(tmp_path):
    mirror = Mirror()
    journal = _campaign(tmp_path, 2, mirror=mirror)
    first = journal.path.read_bytes().splitlines(keepends=True)[0]
    assert mirror.writes == [first, journal.path.read_bytes()]


def test_a_mirror_that_cannot_be_written_never_fails_an_append(tmp_path):
    journal = _campaign(tmp_path, 2, mirror=Mirror(fail=True))
    assert [e["seq"] for e in journal.events()] == [1, 2] and journal.check_copy().state == "ok"


@pytest.mark.parametrize("copy, mirrored, kept", [
    (None, lines(2), lines(2)),  # the copy deleted: the mirror stands in
    (lines(1), lines(2), lines(2)),  # the copy cut short: the mirror holds more
    (lines(2), lines(1), lines(2)),  # the mirror one append behind: the copy
    (lines(2), lines(1) + line(2, "think") + line(3), lines(2)),  # a longer mirror that disagrees: the copy
    (lines(1) + b"x" * len(line(2)), lines(2), lines(1) + b"x" * len(line(2))),  # not longer: the copy
    (lines(2), None, lines(2)),
    (lines(2), b"", lines(2)),
    (None, None, None),
])
def test_the_mirror_stands_in_only_where_it_holds_more(tmp_path, copy, mirrored, kept):
    journal = Journal(tmp_path / "rec", copy_dir=tmp_path / "git", mirror=Mirror(mirrored))
    if copy is not None:
        journal.copy_path.parent.mkdir()
        journal.copy_path.write_bytes(copy)
    assert journal.kept_bytes() == kept


def test_both_files_lost_are_restored_from_the_mirror(tmp_path):
    mirror = Mirror()
    journal = _campaign(tmp_path, 3, mirror=mirror)
    journal.path.unlink()
    journal.copy_path.unlink()
    assert journal.restore_from_copy() == (3, None)
    assert journal.path.read_bytes() == journal.copy_path.read_bytes() == mirror.data
    assert journal.check_copy().state == "ok"


# -- reading through the copy --------------------------------------------------------------


def test_read_protected_of_a_journal_in_step_reports_its_torn_tail(tmp_path):
    journal = _campaign(tmp_path, 2)
    size = journal.path.stat().st_size
    with open(journal.path, "ab") as fh:
        fh.write(b'{"sch')
    contents = journal.read_protected()
    assert [e["seq"] for e in contents.events] == [1, 2] and contents.from_copy == 0
    assert contents.torn == jmod.TornTail(3, size, 5)


def test_a_corrupt_copy_is_named_when_the_events_come_from_it(tmp_path):
    journal = _campaign(tmp_path, 1, require_init=True)
    journal.copy_path.write_bytes(journal.path.read_bytes() + b"[1, 2]\n" + line(3))
    with pytest.raises(JournalError) as info:
        journal.read_protected()
    assert str(info.value).startswith(f"{journal.copy_path}: line 2 is corrupt (not a JSON object)")


def test_a_corrupt_journal_is_named_on_read_and_on_append(tmp_path):
    journal = _campaign(tmp_path, 3)
    raw = journal.path.read_bytes().splitlines(keepends=True)
    journal.path.write_bytes(raw[0] + b"[1, 2]\n" + raw[2])
    for attempt in (journal.read, lambda: journal.append("agent", {})):
        with pytest.raises(JournalError) as info:
            attempt()
        assert str(info.value).startswith(f"{journal.path}: line 2 is corrupt (not a JSON object)")


# -- what an append writes ----------------------------------------------------------------


def test_every_event_names_its_writer(tmp_path):
    journal = Journal(tmp_path, writer=lambda: {"by": "command", "argv": ["campaign", "try"]})
    event = journal.append("init", {})
    stored = json.loads(journal.path.read_text())
    assert stored["writer"] == event["writer"] == {"by": "command", "argv": ["campaign", "try"]}
    plain = Journal(tmp_path / "other")
    plain.append("init", {})
    assert "writer" not in json.loads(plain.path.read_text())  # no writer given: none recorded


def test_an_event_a_reader_would_refuse_is_never_written(tmp_path):
    journal = _campaign(tmp_path, 1)
    before = journal.path.read_bytes()
    with pytest.raises(ValueError) as info:
        journal.append("decide", {"speedup": -1.0}, iteration=1)
    assert str(info.value) == ("refusing to journal an invalid 'decide' event (data.speedup: -1.0 is not a speedup "
                               "(a positive, finite number)); the journal is unchanged")
    assert journal.path.read_bytes() == before == journal.copy_path.read_bytes()


@pytest.fixture
def synced_folders(monkeypatch):
    """The inodes of the folders fsync'd (a new or truncated file's name is durable only then)."""
    seen: list[int] = []
    real = os.fsync

    def watch(fd):
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            seen.append(st.st_ino)
        return real(fd)

    monkeypatch.setattr(os, "fsync", watch)
    return seen


def test_the_first_append_syncs_the_new_journal_s_folder(tmp_path, synced_folders):
    journal = Journal(tmp_path / "rec")
    journal.append("init", {})
    assert synced_folders == [os.stat(journal.record_dir).st_ino]
    journal.append("agent", {})  # the file exists: its folder is unchanged
    assert synced_folders == [os.stat(journal.record_dir).st_ino]


def test_repairing_a_torn_tail_syncs_the_folder(tmp_path, synced_folders):
    journal = Journal(tmp_path)
    journal.append("init", {})
    with open(journal.path, "ab") as fh:
        fh.write(b'{"torn')
    synced_folders.clear()
    journal.append("agent", {})
    assert synced_folders == [os.stat(tmp_path).st_ino]  # the torn-2 file's name is on disk
    assert (tmp_path / "journal.jsonl.torn-2").read_bytes() == b'{"torn'


def test_the_journal_stays_strict_json_where_the_data_cleaning_does_not_reach(tmp_path):
    """The data's NaN becomes null; a NaN elsewhere (here the writer's) refuses the append instead of writing
    ``NaN``, which strict JSON readers (jq, JavaScript) reject."""
    journal = Journal(tmp_path, writer=lambda: {"by": "command", "load": float("nan")})
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        journal.append("init", {"x": float("nan")})
    assert not journal.path.exists()  # nothing written
