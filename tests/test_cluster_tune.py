"""``campaign tune --cluster``: a tune's trials on the executor ``campaign run --cluster`` uses.

A real Dask cluster on loopback (a scheduler and two workers, each a host): every trial is measured whole
on one host (both arms), the report names the host with its fingerprint, and its result is cached under
that host's machine, so a second tune finds every configuration in the cache. A worker killed mid-trial
loses that trial's measurement only: it is measured again on the other host, and the report names the
host that died. The worker's side is also run in this process, without Dask, for the storage rules.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import pytest
from cluster_fixtures import start_cluster, stop, wait_for

from campaign.scale import cluster
from campaign.tune import remote
from campaign.tune import store as tune_store
from campaign.tune.measurement import Protocol

FIXTURE = Path(__file__).parent / "tune_fixtures" / "tunefix.py"
REPO_ROOT = str(Path(__file__).resolve().parents[1])


def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(FIXTURE, ws / "tunefix.py")
    return ws


def test_worker_storage_is_the_server_the_copys_cache_or_a_fresh_file(tmp_path):
    ws, copy = tmp_path / "ws", tmp_path / "remote" / "ws"
    server = "postgresql://u@db/campaign"
    assert remote.worker_storage(server, ws, copy) == server
    assert remote.worker_storage(tune_store.default_storage_url(ws), ws, copy) == tune_store.default_storage_url(copy)
    elsewhere = remote.worker_storage(f"sqlite:///{tmp_path / 'mine.sqlite'}", ws, copy)
    assert elsewhere.startswith("sqlite:///") and str(tmp_path / "remote") in elsewhere  # never the controller's file


def test_a_trial_runs_in_a_copy_under_the_hosts_slot_with_its_machine(tmp_path, monkeypatch):
    """The worker's side without Dask: the trial measures the copy and reports this host's machine key."""
    monkeypatch.setenv("CAMPAIGN_QUEUE_DIR", str(tmp_path / "queue"))
    monkeypatch.setenv("CAMPAIGN_HOST_NAME", "hostZ")
    ws = workspace(tmp_path)
    proto = Protocol(spec="tunefix:Moody", target="moody", workspace=str(ws), case="fast", warm_repeats=1, blocks=2,
                     min_blocks=2, timeout_s=60.0, default={"mode": "ok"}, fixed={}, code="c0", machine="controller",
                     storage=tune_store.default_storage_url(ws))
    payload = {"proto": asdict(proto), "knobs": {"mode": "fast"}, "baseline_outputs": None, "token": "t1"}
    out = cluster.on_host(remote.measure_on_host, payload, cluster.pack(ws))
    assert out["result"]["status"] == "ok" and out["result"]["blocks"] == 2 and out["stored"]
    assert out["machine"] != "controller" and out["fingerprint"]["host"] == "hostZ"
    assert not (ws / ".campaign").exists()  # the controller's workspace is untouched: the copy measured


def _tune(ws: Path, scheduler_file: Path, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-m", "campaign", "tune", "tunefix:Moody", "--knob", "mode=ok,fast,crash",
                           "--strategy", "grid", "--preset", "fast", "--cluster", str(scheduler_file), "--json",
                           "--dir", str(ws)], cwd=ws, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


def test_tune_trials_run_whole_on_the_hosts_of_a_cluster(tmp_path):
    pytest.importorskip("distributed", reason="the cluster extra (pip install 'campaign[cluster]')")
    ws = workspace(tmp_path)
    env = dict(os.environ, CAMPAIGN_QUEUE_DIR=str(tmp_path / "queue"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])))
    procs: dict[str, subprocess.Popen] = {}
    try:
        scheduler_file = start_cluster(tmp_path, env, {"hostA": {}, "hostB": {}}, procs)
        first = _tune(ws, scheduler_file, env)
        again = _tune(ws, scheduler_file, env)
    finally:
        for proc in procs.values():
            stop(proc)
    assert first["executor"] == "cluster" and first["cluster"] == str(scheduler_file)
    assert first["chosen"] == {"mode": "fast"} and first["metrics"]["failed"] == 1
    trials = [r for r in first["configs"] if not r["default"]]
    assert {r["knobs"]["mode"] for r in trials} == {"fast", "crash"}
    for row in trials:  # both arms of every block on the one host the row names
        assert row["host"]["host"] in ("hostA", "hostB") and row["requeued"] == []
        assert set(row["host"]) >= {"cpu", "cores", "kernel", "python", "load", "load_after"}
    fast = next(r for r in trials if r["knobs"]["mode"] == "fast")
    assert fast["blocks"] == 3 and fast["verdict"] == "faster"
    # cached under the host's machine (loopback: this machine), so the second tune measures nothing new
    assert again["metrics"]["measured"] == 0 and again["metrics"]["cache_hits"] == 3
    assert again["chosen"] == {"mode": "fast"}


HELD = textwrap.dedent(
    '''
    """A knob whose "slow" runs, on a worker, block until $HOLD_RELEASE exists (tests/test_cluster_tune.py)."""

    import os
    import time

    from campaign.plugins.target import PythonTarget


    class Held(PythonTarget):
        name = "held"
        scope = ["tunehold.py"]
        knobs = {"mode": ["ok", "slow"]}
        timeout_s = 120.0

        def run_case(self, case, workdir, knobs=None):
            mode = (knobs or {}).get("mode", "ok")
            if mode == "slow" and os.environ.get("HOLD_RUNS"):
                with open(os.environ["HOLD_RUNS"], "a") as fh:
                    fh.write(f"{os.getpid()} {os.environ.get('HOLD_HOST')}\\n")
                while not os.path.exists(os.environ["HOLD_RELEASE"]):
                    time.sleep(0.1)
            time.sleep(0.02 if mode == "ok" else 0.03)
            return {"value": 1}
    '''
).lstrip()


def test_a_worker_killed_mid_trial_loses_that_measurement_only(tmp_path):
    pytest.importorskip("distributed", reason="the cluster extra (pip install 'campaign[cluster]')")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "tunehold.py").write_text(HELD)
    runs, release = tmp_path / "held-runs", tmp_path / "release"
    env = dict(os.environ, CAMPAIGN_QUEUE_DIR=str(tmp_path / "queue"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])))
    hold = {"HOLD_RUNS": str(runs), "HOLD_RELEASE": str(release)}
    procs: dict[str, subprocess.Popen] = {}
    try:
        scheduler_file = start_cluster(tmp_path, env, {name: {**hold, "HOLD_HOST": name} for name in ("hostA", "hostB")},
                                       procs)
        procs["tune"] = subprocess.Popen(
            [sys.executable, "-m", "campaign", "tune", "tunehold:Held", "--strategy", "grid", "--preset", "fast",
             "--cluster", str(scheduler_file), "--json", "--dir", str(ws)],
            cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def held() -> list[list[str]]:
            return [line.split() for line in runs.read_text().splitlines()] if runs.exists() else []

        wait_for(lambda: len(held()) >= 1, "the slow configuration's run on a worker", 300, [procs["tune"]])
        pid, victim = held()[0]
        stop(procs[victim])  # the worker dies mid-trial, and its measuring processes with it
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_for(lambda: len(held()) >= 2, "the trial measured again on the other host", 300, [procs["tune"]])
        release.write_text("go")
        out, err = procs["tune"].communicate(timeout=300)
        assert procs["tune"].returncode == 0, err + out
    finally:
        for proc in procs.values():
            stop(proc)
    report = json.loads(out)
    survivor = {"hostA": "hostB", "hostB": "hostA"}[victim]
    (slow,) = [r for r in report["configs"] if not r["default"]]
    assert slow["status"] == "ok" and slow["blocks"] == 3
    assert slow["host"]["host"] == survivor and slow["requeued"] == [victim]
    assert held()[1][1] == survivor
