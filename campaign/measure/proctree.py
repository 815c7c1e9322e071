"""The process tree of a run: killing it whole, reaping it, and telling whether a process still runs.

Half of ``campaign.measure.procs`` (which runs the children and sweeps what a
``kill -9`` left): here is what knows about processes as such - the child
subreaper (``become_subreaper``), the kill of a run's group, descendants and
token carriers (``kill_tree``), the supervisor that makes an agent's CLI die
with its parent (``die_with_parent``), and a pid's liveness despite reuse
(``process_alive``).
"""

from __future__ import annotations

import os
import signal
import sys

TOKEN_VAR = "CAMPAIGN_RUN_TOKEN"
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h

_subreaper: bool | None = None


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux); True when it is.

    For the ``campaign`` command's entry point only: a process that calls it
    must reap what is re-parented to it (``kill_tree`` does, for the runs it
    cleans up), so a library caller never does.
    """
    global _subreaper
    if _subreaper is None:
        _subreaper = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
            except (OSError, AttributeError):
                _subreaper = False
    return _subreaper


def is_subreaper() -> bool:
    """Whether ``become_subreaper`` made this process a child subreaper (it never changes that)."""
    return bool(_subreaper)


def _tree(pid: int) -> list:
    """The process and all its descendants (psutil objects), best effort."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _carriers(token: str) -> list:
    """Every live process that inherited ``token``: our descendants (as subreaper) or, elsewhere, any."""
    import psutil

    if is_subreaper():
        try:
            candidates = psutil.Process().children(recursive=True)
        except psutil.Error:
            candidates = []
    else:
        candidates = list(psutil.process_iter())
    found = []
    for proc in candidates:
        try:
            if proc.environ().get(TOKEN_VAR) == token:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _reap_session_zombies(session: int) -> None:
    """Reap our zombie children of ``session``: orphans of the child's session that died before we looked.

    Their environment is gone (no token to match), but /proc still shows their
    session; every child runs in a session of its own, so the match is exact.
    """
    import psutil

    try:
        children = psutil.Process().children()
    except psutil.Error:
        return
    for child in children:
        try:
            with open(f"/proc/{child.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if fields[0] == "Z" and int(fields[3]) == session:
                os.waitpid(child.pid, os.WNOHANG)
        except (OSError, IndexError, ValueError, psutil.Error):
            continue


def kill_tree(pid: int, token: str | None = None, reaped: bool = False) -> None:
    """Kill ``pid``, its process group, every descendant and every carrier of ``token``; reap them.

    ``reaped``: ``pid`` itself was already waited for, so its number may
    belong to another process by now; only its group and the token count.
    """
    import psutil

    procs = {} if reaped else {p.pid: p for p in _tree(pid)}
    if token:
        procs.update({p.pid: p for p in _carriers(token)})
    procs.pop(os.getpid(), None)
    try:
        os.killpg(pid, signal.SIGKILL)  # the child leads its own session/group
    except (ProcessLookupError, PermissionError, OSError):
        pass
    for proc in procs.values():
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(list(procs.values()), timeout=5)  # reaps those re-parented to us
    if is_subreaper():
        _reap_session_zombies(pid)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
_DIE_WITH_PARENT = (  # a supervisor, started instead of the command: no preexec_fn in a process with threads
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(137)  # the parent died before the death signal was armed\n"
    "child = os.fork()\n"
    "if child == 0:\n"
    "    os.setpgid(0, 0)\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "def stop(signum, frame):  # the parent died: the command's whole process group goes with it\n"
    "    try:\n"
    "        os.killpg(child, signal.SIGKILL)\n"
    "    except OSError:\n"
    "        pass\n"
    "    os._exit(128 + signum)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "signal.signal(signal.SIGINT, stop)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    stop(signal.SIGTERM, None)\n"
    "while True:\n"
    "    try:\n"
    "        _, status = os.waitpid(child, 0)\n"
    "        break\n"
    "    except ChildProcessError:\n"
    "        os._exit(0)\n"
    "    except InterruptedError:\n"
    "        continue\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "if code < 0:  # killed by a signal: die of the same one, so the caller sees what the command saw\n"
    "    signal.signal(-code, signal.SIG_DFL)\n"
    "    os.kill(os.getpid(), -code)\n"
    "os._exit(code & 0xFF)\n"
)


def die_with_parent(cmd: list[str] | str) -> list[str] | str:
    """``cmd`` made to die when this process dies, even by ``kill -9`` (Linux ``PR_SET_PDEATHSIG``).

    For an agent's CLI: after a ``kill -9`` of ``campaign run`` it would
    otherwise go on editing the tree (and keep its own children, e.g. a
    ``campaign mcp``) until it finishes by itself. The death signal is not
    inherited across a fork, and ``/bin/sh -c`` forks the command it runs,
    so an exec wrapper would arm it on the shell alone: a tiny supervisor
    arms it (as SIGTERM, which it can catch), starts the command in a process
    group of its own, waits for it and passes its exit status on, and when
    the parent dies kills that whole group. ``preexec_fn`` is unsafe in a
    process with threads (the runner's heartbeat). Elsewhere ``cmd`` is
    returned as is.
    """
    if not sys.platform.startswith("linux"):
        return cmd
    argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    return [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), *argv]


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
