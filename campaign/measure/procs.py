"""Running child processes: nothing a child starts outlives it.

Every workload, build and test command of a campaign runs through
``run_process``. The child gets its own session (so its process group is
its own) and a run token in its environment (``CAMPAIGN_RUN_TOKEN``), which
every descendant inherits. When the child exits, times out, or the
framework is interrupted (Ctrl-C, SIGTERM), every descendant that carries the
run's token is killed: a workload must never leave a process burning a core
under the next measurement. A ``kill -9`` of the framework itself cannot
be caught: its children live on, and the next ``run_process`` of the same
campaign kills them (``sweep_orphans``: a carrier whose token's owner is dead
and whose token names the same repository; another campaign's are left alone).

Who finds the orphans (a descendant whose parent exited - a shell's ``cmd
&``, a double-forked ``setsid`` daemon) depends on the caller. The ``campaign``
command, and only it, makes itself a *child subreaper* on Linux
(``become_subreaper``, called from the CLI's entry point,
``campaign.cli.main``): orphans are re-parented to it instead of to init, so
the sweep looks among its own descendants and reaps what it kills, the
orphans' zombies included. A library caller (a test suite, a program that
imports ``run_process``) is left as it is: a subreaper that is not written to
reap collects every orphan of every grandchild as a zombie until it exits.
There the sweep scans all processes for the token, and the orphans' zombies
are reaped by whatever reaps them anyway (init).

Children run under the framework's own interpreter: the directory of
``sys.executable`` is put first on their ``PATH``, so a command that says
``python`` gets the Python that runs ``campaign`` (and can import what it
can), not whatever ``python`` comes first on the user's PATH.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from campaign.errors import MeasureError
from campaign.measure.proctree import (  # noqa: F401 - re-exported: the process tree's half of this module
    PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, TOKEN_VAR, become_subreaper, die_with_parent, is_subreaper, kill_tree,
    process_alive, process_start_time)
from campaign.measure.rusage import RusagePopen, usage_of

POLL_S = 0.25  # how often a waiting run checks whether its main child has exited
PIPE_GRACE_S = 5.0  # after the main child exits, how long an unkillable holder of its pipes is waited for

_terminating = False  # a SIGTERM arrived (request_termination); stays set even where its exception was swallowed


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is: every cleanup that Ctrl-C runs runs for it too."""


def request_termination() -> None:
    """Remember that this process was told to terminate (the CLI's SIGTERM handler calls it before raising).

    The handler's exception can land where Python swallows it (a finalizer
    such as ``Popen.__del__``: "Exception ignored in ..."); the flag cannot
    be swallowed: ``check_termination`` raises again at the next child
    process, ``campaign run`` checks it between steps, and the CLI exits 143.
    """
    global _terminating
    _terminating = True


def termination_requested() -> bool:
    return _terminating


def check_termination() -> None:
    """Raise ``Terminated`` when a SIGTERM arrived, even one whose first exception was swallowed."""
    if _terminating:
        raise Terminated()


@dataclass
class ProcResult:
    """What one child process did."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool
    cpu_s: float | None = None  # the child's user + system CPU seconds, its waited-for descendants included
    max_rss_kb: int | None = None  # the peak resident set of the child (or its largest waited-for descendant)


def interpreter_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with this interpreter's directory first on ``PATH``."""
    env = dict(os.environ if env is None else env)
    bindir = os.path.dirname(os.path.abspath(sys.executable))
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    if not parts or parts[0] != bindir:
        env["PATH"] = os.pathsep.join([bindir, *parts])
    return env


def check_timeout(timeout_s: float | None) -> float | None:
    """A usable timeout: None (no limit) for None or +inf; a ``MeasureError`` for NaN, zero or negative."""
    if timeout_s is None:
        return None
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = math.nan
    if math.isnan(value) or value <= 0:
        raise MeasureError(f"a process timeout must be a positive number of seconds, not {timeout_s!r}: fix the "
                           f"target's timeout_s (or the --...-timeout option given).")
    return None if math.isinf(value) else value


_swept_scopes: set[str] = set()
_scope_root: Path | None = None  # the campaign this process works for (``scope_to``), whatever a child's cwd


def scope_to(workspace: Path | None) -> None:
    """Tokens and sweeps of this process belong to ``workspace``'s campaign from now on.

    A sealed run's folder is a copy outside the repository, so the child's cwd cannot say whose it is;
    the campaign's commands call this before their first child, and their resume after a ``kill -9``
    sweeps the same scope.
    """
    global _scope_root
    _scope_root = Path(workspace) if workspace is not None else None


def sweep_scope(cwd: Path) -> str:
    """The campaign a child run in ``cwd`` belongs to: its repository (the main ``.git``, shared by its
    worktrees), else ``cwd`` itself; a short hash, part of every run token.

    A campaign's commands (and its resume after a ``kill -9``) run in its repository or its worktrees, so
    the sweep finds their orphans; another campaign on the machine (another repository, another test
    worker's throwaway repository) has another scope and is never touched.
    """
    path = Path(cwd).resolve()
    root = path
    for folder in (path, *path.parents):
        dotgit = folder / ".git"
        try:
            if dotgit.is_dir():
                root = dotgit
                break
            if dotgit.is_file():  # a worktree: "gitdir: <main .git>/worktrees/<name>", whose commondir is the main
                gitdir = (folder / dotgit.read_text().split("gitdir:", 1)[1].strip()).resolve()
                common = gitdir / "commondir"
                root = (gitdir / common.read_text().strip()).resolve() if common.is_file() else gitdir
                break
        except (OSError, IndexError):
            break
    else:  # no repository above cwd: a sealed run's copy, outside it; it belongs to the campaign that made it
        if _scope_root is not None and Path(_scope_root).resolve() != path:
            return sweep_scope(_scope_root)
    return hashlib.sha256(str(root).encode()).hexdigest()[:12]


def sweep_orphans(cwd: Path | None = None) -> list[int]:
    """Kill what a ``kill -9``'d run of this campaign left running; the pids killed.

    A token is ``<owner pid>-<scope>-<uuid>``: the owner is the process that called ``run_process``,
    the scope the repository of its child (``sweep_scope``). A carrier whose owner no longer runs and
    whose scope is ``cwd``'s is an orphan nobody will time out or kill - a workload blocked forever, or
    burning a core under the next measurement - so the campaign's next process that runs a workload
    kills it first (once per process and scope). Another campaign's orphans (another scope, or a token
    without one) are its own to sweep. A reused owner pid only means an orphan is spared, never that a
    live run's child is killed.
    """
    import psutil

    scope = sweep_scope(Path.cwd() if cwd is None else cwd)
    killed = []
    for proc in psutil.process_iter():
        try:
            parts = proc.environ().get(TOKEN_VAR, "").split("-", 2)
            if len(parts) != 3 or parts[1] != scope:
                continue
            owner = int(parts[0])
            if owner == os.getpid() or psutil.pid_exists(owner):
                continue
            proc.kill()
            killed.append(proc.pid)
        except (psutil.Error, ValueError):
            continue
    return killed


def _sweep_once(cwd: Path) -> str:
    """Sweep ``cwd``'s campaign once per process; its scope, for the token of the run about to start."""
    scope = sweep_scope(cwd)
    if scope not in _swept_scopes:
        _swept_scopes.add(scope)
        sweep_orphans(cwd)
    return scope


def sweep_orphans_once(cwd: Path | None = None) -> None:
    """The sweep of ``cwd``'s campaign (default: this directory's), once per process: every command sweeps
    before its first child."""
    _sweep_once(Path.cwd() if cwd is None else Path(cwd))



_live: dict[str, int] = {}  # run token -> pid of the children running now (any thread)

def kill_live_children() -> None:
    """Kill every child ``run_process`` is running now, in any thread (``campaign mcp`` stopping mid-tool)."""
    for token, pid in list(_live.items()):
        kill_tree(pid, token)


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def run_process(
    cmd: list[str] | str,
    cwd: Path,
    timeout_s: float | None,
    env: dict | None = None,
    stdin: str | None = None,
    parent_death: bool = False,
) -> ProcResult:
    """Run ``cmd`` (argv list, or a shell string) in ``cwd`` and capture its output.

    ``env`` entries are added to (not substituted for) the current
    environment (a None value removes the variable); ``stdin`` is written to the child's standard input. On
    timeout the whole process tree is killed and ``timed_out`` is true;
    ``returncode`` is then -9. Whatever the child left running when it
    exited is killed too; so is everything on Ctrl-C (or the CLI's SIGTERM,
    which arrives as a ``KeyboardInterrupt``), before it propagates.
    ``parent_death``: the child is killed when this process dies, even by
    ``kill -9`` (``die_with_parent``; an agent's CLI).
    """
    timeout_s = check_timeout(timeout_s)
    check_termination()  # a SIGTERM swallowed elsewhere starts nothing new
    scope = _sweep_once(cwd)
    token = f"{os.getpid()}-{scope}-{uuid.uuid4().hex}"
    full_env = interpreter_env()
    for key, value in (env or {}).items():
        if value is None:  # None removes a variable (campaign.measure.seal: no CAMPAIGN_* in a sealed run)
            full_env.pop(str(key), None)
        else:
            full_env[str(key)] = str(value)
    full_env[TOKEN_VAR] = token
    if parent_death:
        cmd = die_with_parent(cmd)
    shell = isinstance(cmd, str)
    t0 = time.perf_counter()
    proc = RusagePopen(
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
    _live[token] = proc.pid
    try:
        stdout, stderr, timed_out = _collect(proc, token, stdin, t0, timeout_s)
    except BaseException:  # Ctrl-C (or anything else): nothing it started may survive us
        kill_tree(proc.pid, token, reaped=proc.returncode is not None)
        raise
    finally:
        _live.pop(token, None)
    wall = time.perf_counter() - t0
    kill_tree(proc.pid, token, reaped=True)  # the leftovers of a normal exit: background jobs, daemons
    check_termination()  # killed because the process is stopping (campaign mcp): not a result to record
    returncode = proc.returncode if proc.returncode is not None else -9
    if timed_out:
        returncode = -9 if returncode in (None, 0) else returncode
    return ProcResult(returncode, stdout, stderr, wall, timed_out, *usage_of(proc))


def _collect(proc: subprocess.Popen, token: str, stdin: str | None, t0: float,
             timeout_s: float | None) -> tuple[str, str, bool]:
    """Read the child's output until its pipes close; kill what holds them once the child is gone."""
    first = True
    exited_at = None
    partial: tuple = (None, None)
    while True:
        try:
            stdout, stderr = proc.communicate(input=stdin if first else None, timeout=POLL_S)
            return _text(stdout), _text(stderr), False
        except subprocess.TimeoutExpired as exc:
            partial = (exc.output, exc.stderr)
        first = False
        now = time.perf_counter()
        if timeout_s is not None and now - t0 >= timeout_s:
            kill_tree(proc.pid, token)
            try:
                stdout, stderr = proc.communicate(timeout=PIPE_GRACE_S)
                return _text(stdout), _text(stderr), True
            except subprocess.TimeoutExpired as exc:  # a pipe held open by a process we could not kill
                return _text(exc.output), _text(exc.stderr), True
        if proc.poll() is not None:  # the child is gone; something it started holds its pipes
            if exited_at is None:
                exited_at = now
                kill_tree(proc.pid, token, reaped=True)
            elif now - exited_at >= PIPE_GRACE_S:
                _close_pipes(proc)
                return _text(partial[0]), _text(partial[1]), False


def _close_pipes(proc: subprocess.Popen) -> None:
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:
            pass
