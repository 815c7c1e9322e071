import os
import subprocess
import sys
import time

import psutil

from campaign.measure import procs
from campaign.measure.procs import TOKEN_VAR, run_process


def test_run_process_captures_output(tmp_path):
    r = run_process([sys.executable, "-c", "import sys; print('hi'); print('err', file=sys.stderr)"], tmp_path, 30)
    assert r.returncode == 0 and r.stdout.strip() == "hi" and r.stderr.strip() == "err"
    assert not r.timed_out and r.wall_s > 0


def test_shell_string_and_env(tmp_path):
    r = run_process("echo $CAMPAIGN_X; exit 3", tmp_path, 30, env={"CAMPAIGN_X": "42"})
    assert r.returncode == 3 and r.stdout.strip() == "42"


def test_timeout_kills_whole_tree(tmp_path):
    pidfile = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
        "print('finished')\n"
    )
    r = run_process([sys.executable, "-c", script], tmp_path, 2.0)
    assert r.timed_out and "finished" not in r.stdout  # killed, not waited for
    child = int(pidfile.read_text())
    deadline = time.time() + 5
    while time.time() < deadline:
        if not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_the_orphans_of_a_killed_campaign_are_swept(tmp_path):
    # what `kill -9` of campaign leaves: a workload whose token names an owner that no longer runs
    dead = _dead_pid()
    sleeper = "import time; time.sleep(120)"
    orphan = subprocess.Popen([sys.executable, "-c", sleeper], env={**os.environ, TOKEN_VAR: f"{dead}-abc"})
    ours = subprocess.Popen([sys.executable, "-c", sleeper], env={**os.environ, TOKEN_VAR: f"{os.getpid()}-abc"})
    unrelated = subprocess.Popen([sys.executable, "-c", sleeper])
    try:
        for p in (orphan, ours, unrelated):  # wait until each has its environment (exec done)
            while (psutil.Process(p.pid).cmdline() or [""])[-1] != sleeper:  # empty until exec
                time.sleep(0.01)
        killed = procs.sweep_orphans()
        assert orphan.pid in killed and ours.pid not in killed and unrelated.pid not in killed
        assert orphan.wait(timeout=60) == -9
        assert ours.poll() is None and unrelated.poll() is None
    finally:
        for p in (orphan, ours, unrelated):
            p.kill()
            p.wait()


def test_run_process_sweeps_once_per_process(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(procs, "_orphans_swept", False)
    monkeypatch.setattr(procs, "sweep_orphans", lambda: calls.append(1) or [])
    run_process([sys.executable, "-c", "pass"], tmp_path, 30)
    run_process([sys.executable, "-c", "pass"], tmp_path, 30)
    assert calls == [1]
