"""Running child processes: own process group, a timeout that kills the whole tree.

Every workload, build and test command of a campaign runs through
``run_process``. The child gets its own session (so its process group is
its own), and on timeout every process of its tree is killed: a hung
workload must never leave a grandchild burning a core under the next
measurement.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ProcResult:
    """What one child process did."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool


def _tree(pid: int) -> list:
    """The process and all its descendants (psutil objects), best effort."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def kill_tree(pid: int) -> None:
    """Kill ``pid``, its process group and every descendant; wait briefly for them."""
    import psutil

    procs = _tree(pid)
    try:
        os.killpg(pid, signal.SIGKILL)  # the child leads its own session/group
    except (ProcessLookupError, PermissionError, OSError):
        pass
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


def run_process(
    cmd: list[str] | str,
    cwd: Path,
    timeout_s: float | None,
    env: dict | None = None,
    stdin: str | None = None,
) -> ProcResult:
    """Run ``cmd`` (argv list, or a shell string) in ``cwd`` and capture its output.

    ``env`` entries are added to (not substituted for) the current
    environment; ``stdin`` is written to the child's standard input. On timeout the whole process tree is killed and
    ``timed_out`` is true; ``returncode`` is then -9.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update({str(k): str(v) for k, v in env.items()})
    shell = isinstance(cmd, str)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=str(cwd),
        env=full_env,
        shell=shell,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(input=stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_tree(proc.pid)
        try:
            stdout, stderr = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a pipe held open by an escaped process
            stdout, stderr = "", ""
    wall = time.perf_counter() - t0
    returncode = proc.returncode if proc.returncode is not None else -9
    if timed_out:
        returncode = -9 if returncode in (None, 0) else returncode
    return ProcResult(returncode, stdout or "", stderr or "", wall, timed_out)


def process_start_time() -> float:
    """This process's start time (psutil's create_time): with the pid, it names the process despite pid reuse."""
    import psutil

    return psutil.Process().create_time()


def process_alive(pid: int | None, started: float | None = None) -> bool:
    """Whether process ``pid`` is running and, when ``started`` is given, is the one that started then."""
    import psutil

    if not pid:
        return False
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - float(started)) < 1.0
    except (psutil.Error, ValueError):
        return False
