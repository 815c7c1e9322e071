"""The campaign lock (campaign/loop/lock.py): one command at a time, a refusal that names the holder, and
the liveness check that tells a running holder from a killed one's leftover file.

Written against the surviving mutants (docs/mutation.md). Two locks in one process contend like two
processes (flock is per open file), so no second process is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import psutil
import pytest

from campaign.errors import LockError
from campaign.loop.lock import DEFAULT_LOCK_TIMEOUT_S, CampaignLock, holder_alive


def _since(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


# -- holder_alive ---------------------------------------------------------------------------


def test_a_holder_that_started_before_taking_the_lock_is_alive_within_a_second_of_slack():
    started = psutil.Process(os.getpid()).create_time()
    assert holder_alive({"pid": os.getpid(), "since": _since(started + 5)})
    assert holder_alive({"pid": os.getpid(), "since": _since(started - 0.5)})  # clocks a little apart
    assert not holder_alive({"pid": os.getpid(), "since": _since(started - 1.5)})  # a pid reused since
    assert holder_alive({"pid": str(os.getpid()), "since": _since(started + 5)})  # as JSON may carry it


def test_a_holder_without_a_readable_pid_is_not_alive():
    assert not holder_alive({})
    assert not holder_alive({"pid": "not a pid"})
    assert not holder_alive({"pid": [1]})
    assert holder_alive({"pid": os.getpid()})  # no time recorded: the pid decides


def test_a_zombie_holder_is_not_alive():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        process = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process.status() == psutil.STATUS_ZOMBIE  # exited, not yet reaped
        assert not holder_alive({"pid": proc.pid, "since": _since(time.time() + 5)})
    finally:
        proc.wait()


# -- the lock ------------------------------------------------------------------------------


def test_the_timeout_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("CAMPAIGN_LOCK_TIMEOUT", raising=False)
    assert CampaignLock(tmp_path).timeout_s == DEFAULT_LOCK_TIMEOUT_S == 3.0
    monkeypatch.setenv("CAMPAIGN_LOCK_TIMEOUT", "0.25")
    assert CampaignLock(tmp_path).timeout_s == 0.25
    assert CampaignLock(tmp_path, timeout_s=7).timeout_s == 7  # an explicit timeout wins


def test_the_holder_file_names_this_process_and_its_command(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/usr/bin/campaign", "try", "--full"])
    record = tmp_path / "optim" / "c"  # created on the first acquire
    lock = CampaignLock(record)
    with lock as entered:
        assert entered is lock
        assert sorted(os.listdir(record)) == [".lock", ".lock.holder"]
        holder = json.loads((record / ".lock.holder").read_text())
        assert holder["pid"] == os.getpid() and holder["argv"] == ["/usr/bin/campaign", "try", "--full"]
        assert datetime.fromisoformat(holder["since"]).tzinfo is not None
        assert lock.holder() == holder and lock.running_holder() == holder
    assert not (record / ".lock.holder").exists()  # released: no holder left behind
    assert lock.holder() is None and lock.running_holder() is None


def test_other_file_names(tmp_path):
    with CampaignLock(tmp_path, argv=["campaign"], lock_name=".tune.lock", holder_name=".tune.holder") as lock:
        assert sorted(os.listdir(tmp_path)) == [".tune.holder", ".tune.lock"]
        assert lock.holder_path == tmp_path / ".tune.holder"


def test_an_unreadable_holder_file_is_no_holder(tmp_path):
    lock = CampaignLock(tmp_path, argv=[])
    lock.holder_path.write_text("[1, 2]")
    assert lock.holder() is None
    lock.holder_path.write_text("{not json")
    assert lock.holder() is None and lock.running_holder() is None
    lock.holder_path.write_text(json.dumps({"pid": None, "argv": ["campaign", "try"]}))
    assert lock.holder() == {"pid": None, "argv": ["campaign", "try"]}
    assert lock.running_holder() is None  # a killed holder's leftover


def test_a_second_lock_waits_then_refuses_naming_the_holder(tmp_path):
    first = CampaignLock(tmp_path, argv=["/usr/bin/python3", "-m", "campaign", "try", "--full"])
    with first:
        since = first.holder()["since"]
        with pytest.raises(LockError) as info:
            CampaignLock(tmp_path, timeout_s=0.05).acquire()
        assert str(info.value) == (
            f"another campaign command is running on this campaign: `campaign try --full` (pid {os.getpid()}, "
            f"since {since}); waited 0.05 s for it. Let it finish (`campaign status` shows where things stand), "
            f"then run your command again; writes never interleave.")
        first.holder_path.unlink()  # a holder file lost: the refusal still comes, with what it knows
        with pytest.raises(LockError) as info:
            CampaignLock(tmp_path, timeout_s=0.05).acquire()
        assert "running on this campaign: `campaign ...` (pid ?, since ?); waited 0.05 s" in str(info.value)
    with CampaignLock(tmp_path, timeout_s=0.05):  # released: the next one gets it at once
        pass


def test_the_lock_is_reentrant_and_released_by_the_outermost_exit(tmp_path):
    lock = CampaignLock(tmp_path, argv=["campaign"])
    lock.release()  # not held: nothing to do
    lock.acquire()
    lock.acquire()
    lock.release()
    assert lock.holder() is not None  # still held by the outer acquire
    with pytest.raises(LockError):
        CampaignLock(tmp_path, timeout_s=0.05).acquire()
    lock.release()
    assert lock.holder() is None
    with CampaignLock(tmp_path, timeout_s=0.05):
        pass
    lock.release()  # once more than acquired: still nothing
    with lock:  # and it can be taken again
        assert lock.holder()["pid"] == os.getpid()
