import sys
import time

import psutil

from campaign.measure.procs import run_process


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
    )
    t0 = time.perf_counter()
    r = run_process([sys.executable, "-c", script], tmp_path, 2.0)
    assert r.timed_out
    assert time.perf_counter() - t0 < 30
    child = int(pidfile.read_text())
    deadline = time.time() + 5
    while time.time() < deadline:
        if not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
