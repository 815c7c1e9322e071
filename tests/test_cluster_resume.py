"""``campaign run --cluster`` is kept for ``--resume``: a killed controller resumes on the cluster.

A real Dask cluster on loopback (a scheduler and two workers). The controller is killed with an attempt
still implementing; ``campaign status`` names the cluster, and ``campaign run --resume`` (no ``--cluster``)
measures every TEST and BENCHMARK on the cluster's hosts, as their fingerprints in the journal show.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from cluster_fixtures import start_cluster, stop
from loop_fixtures import finished_record
from parallel_fixtures import WRONG_BUILD, read_calls, write_parallel_agent
from run_fixtures import FAST, cli, journal, make_sum_repo, ok, run_env, write_target_module

pytest.importorskip("distributed", reason="the cluster extra (pip install 'campaign[cluster]')")


def test_a_killed_cluster_run_resumes_on_the_cluster(tmp_path):
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib, CAMPAIGN_QUEUE_DIR=str(tmp_path / "queue"))
    cmd, calls = write_parallel_agent(tmp_path, [("closed form", 20.0, FAST, 0),
                                                 ("shorter range", 1.1, WRONG_BUILD, "HOLD")])
    procs: dict[str, subprocess.Popen] = {}
    try:
        scheduler_file = start_cluster(tmp_path, env, {"hostA": {}, "hostB": {}}, procs)
        procs["run"] = subprocess.Popen(
            [sys.executable, "-m", "campaign", "run", "--target", "sumtarget:SumTarget", "--agent", "command",
             "--agent-cmd", cmd, "--parallel", "2", "--cluster", str(scheduler_file), "--goal-speedup", "1000",
             "--max-iterations", "2"], cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 300
        while not any(c["step"] == "implement" and c["title"] == "shorter range" for c in read_calls(calls)):
            assert procs["run"].poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no IMPLEMENT of the held attempt"
            time.sleep(0.05)
        os.killpg(procs["run"].pid, signal.SIGKILL)
        procs["run"].wait(timeout=30)
        killed = ok(cli(repo, env, "status", "--json"))
        text = cli(repo, {**env, "COLUMNS": "400"}, "status").stdout  # wide: a long tmp path is cut at 80
        resumed = ok(cli(repo, env, "run", "--resume", "--json"))
    finally:
        for proc in procs.values():
            stop(proc)
    assert killed["agent"]["cluster"] == str(scheduler_file) and killed["agent"]["parallel"] == 2
    assert f"cluster: TEST + BENCHMARK on the workers of {scheduler_file}" in text, text
    # which attempt became iteration 1 is a race (the kill comes as the held one starts implementing, before or
    # after the closed form was measured); what each attempt's outcome was is not
    assert resumed["finished"] and {r["title"]: r["kept"] for r in resumed["iterations"]} == {
        "closed form": True, "shorter range": False}
    events = journal(finished_record(repo, "sum"))
    runs = [e["data"] for e in events if e["type"] == "run"]
    assert [r["cluster"] for r in runs] == [str(scheduler_file)] * 2  # recorded at the start and at the resume
    measured = [e for e in events if e["type"] in ("test", "benchmark") and e["data"].get("cases")]
    assert measured and all(e["data"]["host"]["host"] in ("hostA", "hostB") for e in measured)
