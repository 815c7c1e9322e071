"""The journal: append-only, fsync'd, torn tails, corrupt lines, newer schemas, the lock."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from campaign.loop import journal as jmod
from campaign.errors import JournalError, LockError
from campaign.loop.events import SCHEMA_VERSION
from campaign.loop.journal import CampaignLock, Journal, parse_journal


def _journal(tmp_path, n=3):
    j = Journal(tmp_path)
    for i in range(n):
        j.append("profile" if i else "init", {"i": i}, iteration=None)
    return j


def test_append_writes_whole_lines_with_schema_and_seq(tmp_path):
    j = _journal(tmp_path)
    lines = j.path.read_text().splitlines()
    assert len(lines) == 3
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert all(e["schema"] == SCHEMA_VERSION for e in events)
    assert j.read().torn is None


def test_append_fsyncs_every_event(tmp_path, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(jmod.os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    j = Journal(tmp_path)
    j.append("init", {})
    n = len(calls)
    assert n >= 1
    j.append("profile", {})
    assert len(calls) == n + 1


def test_torn_last_line_is_reported_then_moved_aside(tmp_path):
    j = _journal(tmp_path)
    with open(j.path, "ab") as fh:
        fh.write(b'{"schema": 1, "seq": 4, "ty')
    contents = j.read()
    assert len(contents.events) == 3
    assert contents.torn.line == 4
    assert "line 4" in contents.torn.message(j.path)
    j.append("think", {"x": 1}, iteration=1)
    events = j.read()
    assert events.torn is None and [e["seq"] for e in events.events] == [1, 2, 3, 4]
    torn_file = tmp_path / "journal.jsonl.torn-4"
    assert torn_file.read_bytes() == b'{"schema": 1, "seq": 4, "ty'


def test_terminated_but_invalid_last_line_is_torn(tmp_path):
    j = _journal(tmp_path)
    with open(j.path, "ab") as fh:
        fh.write(b'{"schema": 1, "se\n')
    assert j.read().torn.line == 4


def test_corrupt_middle_line_is_an_error_naming_it(tmp_path):
    j = _journal(tmp_path)
    lines = j.path.read_bytes().split(b"\n")
    lines[1] = b"{garbage"
    j.path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError, match="line 2"):
        j.read()


def test_seq_gap_is_an_error(tmp_path):
    j = _journal(tmp_path)
    lines = j.path.read_text().splitlines()
    del lines[1]
    j.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalError, match="line 2"):
        j.read()


def test_newer_schema_is_refused(tmp_path):
    j = _journal(tmp_path, 1)
    event = {"schema": SCHEMA_VERSION + 1, "seq": 2, "ts": "x", "type": "think", "iteration": 1, "data": {}}
    with open(j.path, "a") as fh:
        fh.write(json.dumps(event) + "\n")
    with pytest.raises(JournalError, match="newer campaign"):
        j.read()


def test_a_line_validated_once_is_not_validated_again_but_its_position_still_is(tmp_path, monkeypatch):
    from campaign.loop import journal_format

    j = _journal(tmp_path)
    j.read()
    checked = []
    real = journal_format.event_problem
    monkeypatch.setattr(journal_format, "event_problem", lambda e: (checked.append(e["seq"]), real(e))[1])
    j.append("think", {"x": 1}, iteration=1)
    assert [e["seq"] for e in j.read().events] == [1, 2, 3, 4]
    assert checked == [4]  # the three lines read before are known valid: only the new one is checked
    lines = j.path.read_text().splitlines()
    j.path.write_text("\n".join([lines[0], lines[2], lines[1], lines[3]]) + "\n")
    with pytest.raises(JournalError, match="line 2.*seq"):
        j.read()  # known-valid lines out of order: the seq check does not come from the memo


def test_an_invalid_line_is_refused_on_every_read(tmp_path):
    j = _journal(tmp_path, 1)
    event = {"schema": SCHEMA_VERSION, "seq": 2, "ts": "x", "type": "benchmark", "iteration": 1,
             "data": {"speedup": -1.0}}
    with open(j.path, "a") as fh:
        fh.write(json.dumps(event) + "\n")
    for _ in range(2):
        with pytest.raises(JournalError, match="line 2"):
            j.read()


def test_parse_empty():
    assert parse_journal(b"").events == [] and parse_journal(b"").torn is None


def test_lock_is_reentrant_and_records_holder(tmp_path):
    lock = CampaignLock(tmp_path, timeout_s=0.1, argv=["campaign", "try"])
    with lock:
        with lock:
            assert lock.holder()["argv"] == ["campaign", "try"]
        assert lock.holder() is not None
    assert lock.holder() is None


def test_lock_contention_with_a_second_process(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from campaign.loop.journal import CampaignLock
        lock = CampaignLock({str(tmp_path)!r}, argv=["campaign", "try", "--full"])
        lock.acquire()
        print("locked", flush=True)
        time.sleep(30)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with pytest.raises(LockError) as info:
            CampaignLock(tmp_path, timeout_s=0.5).acquire()
        assert time.monotonic() - t0 >= 0.4
        assert "campaign try --full" in str(info.value) and str(proc.pid) in str(info.value)
    finally:
        proc.kill()
        proc.wait()
    # the killed holder released the OS lock
    with CampaignLock(tmp_path, timeout_s=2):
        pass


def test_non_finite_floats_are_stored_as_null(tmp_path):
    j = Journal(tmp_path)
    j.append("plan", {"amdahl_bound": float("inf"), "xs": [1.0, float("nan")]}, 1)
    assert j.events()[0]["data"] == {"amdahl_bound": None, "xs": [1.0, None]}


def test_command_line_reads_like_the_cli():
    assert jmod.command_line(["/usr/bin/campaign", "try", "--full"]) == "campaign try --full"
    assert jmod.command_line(["/usr/bin/python3", "-m", "campaign", "log"]) == "campaign log"
