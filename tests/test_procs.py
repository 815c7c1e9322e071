import os
import subprocess
import sys
import time

import psutil

from campaign.measure import procs
from campaign.measure.procs import TOKEN_VAR, run_process
from test_procs_escape import timed_out_once_started


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
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)\n"
        "print('finished')\n"
    )
    r = timed_out_once_started([sys.executable, "-c", script], tmp_path, pidfile)  # the start-up is load's
    assert r.timed_out and "finished" not in r.stdout  # killed, not waited for
    child = int(pidfile.read_text())
    deadline = time.time() + 60
    while time.time() < deadline:
        if not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _sleepers(*tokens: str | None) -> list[subprocess.Popen]:
    """Sleeping processes carrying ``tokens`` (None: no token), each past its exec (its environment set)."""
    sleeper = "import time; time.sleep(120)"
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
    started = [subprocess.Popen([sys.executable, "-c", sleeper], env=env if t is None else {**env, TOKEN_VAR: t})
               for t in tokens]
    deadline = time.monotonic() + 120
    for p in started:
        while (psutil.Process(p.pid).cmdline() or [""])[-1] != sleeper:  # empty until exec
            assert time.monotonic() < deadline, "a sleeper did not start in 120 s"
            time.sleep(0.01)
    return started


def _repo(path):
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_the_orphans_of_a_killed_campaign_are_swept(tmp_path):
    # what `kill -9` of campaign leaves: a workload whose token names an owner that no longer runs
    dead, scope = _dead_pid(), procs.sweep_scope(tmp_path)
    orphan, ours, unrelated = _sleepers(f"{dead}-{scope}-abc", f"{os.getpid()}-{scope}-abc", None)
    try:
        killed = procs.sweep_orphans(tmp_path)
        assert orphan.pid in killed and ours.pid not in killed and unrelated.pid not in killed
        assert orphan.wait(timeout=60) == -9
        assert ours.poll() is None and unrelated.poll() is None
    finally:
        for p in (orphan, ours, unrelated):
            p.kill()
            p.wait()


def test_the_sweep_leaves_another_campaigns_orphans_alone(tmp_path):
    """Two campaigns on one machine (or two test workers): each sweeps only its own repository's orphans
    (issue 22 item 4: the sweep killed every dead owner's carriers machine-wide)."""
    mine, theirs = _repo(tmp_path / "mine"), _repo(tmp_path / "theirs")
    (mine / "pkg").mkdir()
    subprocess.run(["git", "-C", str(mine), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    worktree = tmp_path / "wt"
    subprocess.run(["git", "-C", str(mine), "worktree", "add", "-q", "--detach", str(worktree)], check=True)
    assert procs.sweep_scope(mine / "pkg") == procs.sweep_scope(worktree) == procs.sweep_scope(mine)
    assert procs.sweep_scope(theirs) != procs.sweep_scope(mine)
    dead = _dead_pid()
    own, other, legacy = _sleepers(f"{dead}-{procs.sweep_scope(worktree)}-abc",
                                   f"{dead}-{procs.sweep_scope(theirs)}-abc", f"{dead}-abc")
    try:
        assert procs.sweep_orphans(mine) == [own.pid]
        assert own.wait(timeout=60) == -9
        assert other.poll() is None and legacy.poll() is None
    finally:
        for p in (own, other, legacy):
            p.kill()
            p.wait()


def test_run_process_sweeps_once_per_process_and_repository(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(procs, "_swept_scopes", set())
    monkeypatch.setattr(procs, "_scope_root", None)  # no campaign in this process (another test's may have set it)
    monkeypatch.setattr(procs, "sweep_orphans", lambda cwd=None: calls.append(cwd) or [])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    out = run_process([sys.executable, "-c", f"import os; print(os.environ[{TOKEN_VAR!r}])"], tmp_path / "a", 30)
    run_process([sys.executable, "-c", "pass"], tmp_path / "a", 30)
    run_process([sys.executable, "-c", "pass"], tmp_path / "b", 30)
    assert calls == [tmp_path / "a", tmp_path / "b"]
    assert out.stdout.split("-")[:2] == [str(os.getpid()), procs.sweep_scope(tmp_path / "a")]
