"""``campaign run --parallel 3 --cluster``: a real Dask cluster on loopback (a scheduler, two workers, each a host).

A worker is killed mid-BENCHMARK: that measurement is lost and run again on the other host, the journal
says which host died, and every TEST and BENCHMARK names the one host that ran it (its fingerprint).
The held run (``HeldSumTarget``) blocks every run of the closed form after the first (its TEST) until
the test releases it, so the kill lands mid-benchmark whatever the load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from cluster_fixtures import start_cluster, stop, wait_for
from loop_fixtures import finished_record
from parallel_fixtures import FAST_B, WRONG_BUILD, write_parallel_agent
from run_fixtures import FAST, journal, make_sum_repo, ok, run_env, write_target_module

from campaign.loop import attempts as att

pytest.importorskip("distributed", reason="the cluster extra (pip install 'campaign[cluster]')")

HELD = textwrap.dedent(
    '''
    """SumTarget whose closed form, after its first run, blocks until $HOLD_RELEASE exists (tests/test_cluster.py)."""

    import importlib.util
    import os
    import sys
    import time
    from pathlib import Path

    from sumtarget import SumTarget


    class HeldSumTarget(SumTarget):
        def run_case(self, case, workdir, knobs=None):
            path = (Path(workdir) / "work.py").resolve()
            sys.modules.pop("work", None)
            spec = importlib.util.spec_from_file_location("work", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            runs = os.environ.get("HOLD_RUNS")
            if runs and hasattr(module, "PATTERN"):
                with open(runs, "a") as fh:
                    fh.write(f"{os.getpid()} {os.environ.get('HOLD_HOST')}\\n")
                with open(runs) as fh:
                    seen = {line.split()[0] for line in fh if line.strip()}
                while len(seen) > 1 and not os.path.exists(os.environ["HOLD_RELEASE"]):
                    time.sleep(0.2)
            return {"total": module.compute()}
    '''
).lstrip()


def test_parallel_campaign_on_a_two_host_cluster_survives_a_killed_worker(tmp_path):
    lib = write_target_module(tmp_path / "lib")
    (lib / "heldtarget.py").write_text(HELD)
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib, CAMPAIGN_QUEUE_DIR=str(tmp_path / "queue"))
    runs, release = tmp_path / "held-runs", tmp_path / "release"
    procs: dict[str, subprocess.Popen] = {}
    try:
        scheduler_file = start_cluster(tmp_path, env, {
            name: {"HOLD_HOST": name, "HOLD_RUNS": str(runs), "HOLD_RELEASE": str(release)}
            for name in ("hostA", "hostB")}, procs)
        cmd, _calls = write_parallel_agent(tmp_path, [("closed form", 20.0, FAST, 0),
                                                      ("closed form, other names", 10.0, FAST_B, 1),
                                                      ("shorter range", 1.1, WRONG_BUILD, 1)])
        run = subprocess.Popen([sys.executable, "-m", "campaign", "run", "--target", "heldtarget:HeldSumTarget",
                                "--agent", "command", "--agent-cmd", cmd, "--parallel", "3", "--cluster",
                                str(scheduler_file), "--goal-speedup", "1000", "--max-iterations", "3", "--json"],
                               cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = lambda: [line.split() for line in runs.read_text().splitlines()] if runs.exists() else []
        wait_for(lambda: len(held()) >= 2, "benchmark of the closed form on a worker", 300, [run])
        victim = held()[1][1]  # the host whose benchmark is held: kill its worker mid-benchmark
        stop(procs[victim])
        for pid, _ in held():
            try:
                os.kill(int(pid), signal.SIGKILL)  # the dead worker's measuring processes
            except ProcessLookupError:
                pass
        release.write_text("go")
        out, err = run.communicate(timeout=400)
        result = ok(subprocess.CompletedProcess(run.args, run.returncode, out, err))
    finally:
        if "run" in locals() and run.poll() is None:
            run.kill()
            run.wait()
        for proc in procs.values():
            stop(proc)
    survivor = {"hostA": "hostB", "hostB": "hostA"}[victim]
    assert result["finished"]
    assert [r["kept"] for r in result["iterations"]] == [True, False, False]
    record = finished_record(repo, "sum")
    events = journal(record)
    requeued = [e["data"] for e in events if att.is_attempt_event(e) and e["data"]["status"] == "requeued"]
    assert [(d["attempt"], d["host"]) for d in requeued] == [("a1", victim)]
    assert {e["data"]["attempt"]: e["data"]["status"] for e in events if att.is_attempt_event(e)} == {
        "a1": "kept", "a2": "superseded", "a3": "superseded"}
    benches = [e for e in events if e["type"] == "benchmark"]
    assert len(benches) == 1 and benches[0]["iteration"] == 1  # the lost measurement left no event
    assert benches[0]["data"]["host"]["host"] == survivor  # both arms, every block: the surviving host
    for e in events:
        if e["type"] in ("test", "benchmark") and e["data"].get("cases"):
            fingerprint = e["data"]["host"]
            assert set(fingerprint) >= {"host", "cpu", "cores", "kernel", "python", "load"}
    assert "died mid-measurement" in err
    # measured ahead of their turn, on idle workers, each result used while the kept code it measured stands
    # (the first attempt always; whether a later one is collected ahead or superseded first is a race)
    assert err.count("measured ahead, collecting") >= 1, err
