"""The cluster's pure parts, without a cluster: who died, what travels, where a host's slot is."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from campaign.scale import cluster, host
from campaign.scale.queue import measuring


def test_the_hosts_that_started_and_did_not_finish_died():
    assert cluster.lost(["hostA"], "hostA") == []
    assert cluster.lost(["hostA", "hostB"], "hostB") == ["hostA"]
    assert cluster.lost(["hostA", "hostB", "hostA"], "hostA") == ["hostA", "hostB"]
    assert cluster.lost([], "hostA") == []


def test_the_workspace_travels_without_the_controllers_lease_or_junk(tmp_path):
    ws = tmp_path / "ws"
    (ws / ".git" / "campaign-copies" / "sum").mkdir(parents=True)
    (ws / ".git" / "campaign-copies" / "sum" / "driver.json").write_text("{}")
    (ws / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (ws / "__pycache__").mkdir()
    (ws / "__pycache__" / "x.pyc").write_bytes(b"junk")
    (ws / "work.py").write_text("print(1)\n")
    copy = cluster.unpack(cluster.pack(ws), tmp_path / "remote")
    assert (copy / "work.py").read_text() == "print(1)\n" and (copy / ".git" / "HEAD").exists()
    assert not list(copy.rglob("driver.json")) and not (copy / "__pycache__").exists()


def test_packing_leaves_out_other_worktrees_and_what_vanishes_mid_walk(tmp_path, monkeypatch):
    """An attempt's worktree pruned while the workspace is packed is no error (it was: FileNotFoundError)."""
    import os

    ws = tmp_path / "ws"
    (ws / ".git" / "worktrees" / "a1").mkdir(parents=True)
    (ws / ".git" / "worktrees" / "a1" / "gitdir").write_text("/elsewhere\n")
    (ws / "work.py").write_text("print(1)\n")
    real_walk = os.walk

    def walk(top, *args, **kwargs):  # a file listed, then gone before it is read, as a pruned worktree's are
        for root, dirs, files in real_walk(top, *args, **kwargs):
            yield root, dirs, files + (["gone.lock"] if Path(root) == ws else [])

    monkeypatch.setattr(os, "walk", walk)
    copy = cluster.unpack(cluster.pack(ws), tmp_path / "remote")
    assert (copy / "work.py").exists() and not (copy / ".git" / "worktrees").exists()
    assert not (copy / "gone.lock").exists()


def test_a_fingerprint_names_what_a_timing_depends_on(monkeypatch):
    monkeypatch.setenv(host.NAME_VAR, "hostA")
    fp = host.fingerprint()
    assert fp["host"] == "hostA" and set(fp) >= {"cpu", "cores", "kernel", "python", "load"}
    assert host.same_host(fp, dict(fp)) and not host.same_host(fp, {**fp, "host": "hostB"})


def test_one_measurement_at_a_time_per_host(tmp_path, monkeypatch):
    """Two threads asking one host's slot measure one after the other, never both at once."""
    monkeypatch.setenv("CAMPAIGN_QUEUE_DIR", str(tmp_path))
    inside, most = [], []

    def measure():
        with measuring("hostA"):
            inside.append(1)
            most.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=measure) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == [1, 1, 1]
