"""A real Dask cluster on loopback for the cluster tests: start, stop, wait for processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, cwd=log.parent, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)  # in tmp: nothing a worker leaves lands in the checkout


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


def wait_for(predicate, what: str, timeout: float, procs: list[subprocess.Popen] = ()) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for proc in procs:
            assert proc.poll() is None, f"{proc.args[:4]} ended (exit {proc.returncode}) while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} in {timeout:.0f} s"
        time.sleep(0.1)


def start_cluster(tmp_path: Path, env: dict, hosts: dict[str, dict], procs: dict[str, subprocess.Popen]) -> Path:
    """A scheduler and one single-threaded worker per host (``--resources measure=1``); the scheduler file.

    ``hosts`` maps each host's name to the extra environment of its worker; every process started lands in
    ``procs`` at once (the caller stops them all, even when a start fails).
    """
    scheduler_file = tmp_path / "scheduler.json"
    procs["scheduler"] = start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                               env, tmp_path / "scheduler.log")
    wait_for(scheduler_file.exists, "scheduler file", 120, [procs["scheduler"]])
    for name, extra in hosts.items():
        procs[name] = start([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                             str(scheduler_file), "--nthreads", "1", "--no-nanny", "--no-dashboard",
                             "--resources", "measure=1", "--name", name, "--host", "127.0.0.1"],
                            {**env, "CAMPAIGN_HOST_NAME": name, **extra}, tmp_path / f"{name}.log")
    return scheduler_file
