"""The chaos test, reduced: ``scripts/chaos.py`` with 8 kills (the full run: 50, see docs).

SIGKILL at points of every command's critical window (just before or after one of its journal
writes, campaign/loop/killpoint.py), continuing as ``status`` says: no event lost, no user file
changed, no false claim by ``status``, no traceback or unexpected exit after a resume, at least one
kill in each of init, log, revert and finish, and every campaign finished. Seeded, so a failure is
reproducible with the same ``--seed``; no timing assertion and no kill timed by the clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "chaos.py"


def test_chaos_8_kills(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--kills", "8", "--seed", "11", "--workdir",
                             str(tmp_path / "chaos"), "--json"], capture_output=True, text=True, timeout=1500)
    figures = json.loads(result.stdout)
    assert figures["kills"] >= 8, figures
    assert figures["events_lost"] == 0, figures["problems"]
    assert figures["user_files_changed"] == 0, figures["problems"]
    assert figures["false_claims"] == 0, figures["problems"]
    assert figures["left_behind"] == 0, figures["problems"]
    assert not figures["stuck"], figures["problems"]
    assert figures["tracebacks"] == [], figures["tracebacks"]
    assert figures["unexpected_errors"] == [], figures["unexpected_errors"]
    assert all(e.startswith("try") for e in figures["command_errors"]), figures["command_errors"]  # TEST failed
    hit = {point.split(":")[0] for point in figures["killed_at"]}
    assert {"init", "log", "revert", "finish"} <= hit and figures["missing_kinds"] == [], figures["killed_at"]
    assert sum(figures["killed_at"].values()) == figures["kills"]  # every kill landed at a named point
    assert figures["campaigns_started"] >= 2 and figures["campaigns_finished"] == figures["campaigns_started"]
    assert figures["events"] > 0 and figures["ok"] and result.returncode == 0


def _chaos_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("chaos_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_zombie_counts_as_left_behind_until_reaped(tmp_path):
    """A zombie whose live parent does not reap it is still there (no longer running, not gone); a zombie
    of our own is reaped, then gone; a process that ended and was reaped is gone."""
    import time

    import psutil

    chaos = _chaos_module()
    pidfile = tmp_path / "zombie.pid"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'pass'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n")])  # never waits for its child: a zombie under a live parent
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (pidfile.exists() and pidfile.read_text()):
            time.sleep(0.05)
        zombie = psutil.Process(int(pidfile.read_text()))
        while time.monotonic() < deadline and zombie.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.05)
        assert zombie.status() == psutil.STATUS_ZOMBIE
        assert chaos._left_behind([zombie], timeout=0.3) == [zombie]
    finally:
        holder.kill()
        holder.wait()
    own = subprocess.Popen([sys.executable, "-c", "pass"])
    mine = psutil.Process(own.pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and mine.status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.05)
    assert chaos._left_behind([mine], timeout=0.3) == []  # ours: reaped here, so gone
    assert not psutil.pid_exists(own.pid) or psutil.Process(own.pid).create_time() != mine.create_time()
    own.returncode = 0  # reaped above; keep Popen from waiting on it again
