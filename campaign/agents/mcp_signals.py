"""``campaign mcp`` stops on SIGTERM and SIGINT, and with its client.

The SDK serves stdio from worker threads (a blocking ``stdin`` read, each
tool in ``anyio.to_thread``): the CLI's SIGTERM handler raises in the main
thread, the event loop winds down, and the process then waits for the
blocked ``stdin`` reader, serving on until the client closes the pipe. Here
a signal instead:

1. marks the process as terminating (``procs.request_termination``): a tool
   in flight starts no new child process, and a child killed under it raises
   ``Terminated`` in its thread instead of being recorded as a result (a
   killed workload is not a failed TEST);
2. kills the children that tool is running (``procs.kill_live_children``);
3. waits up to ``GRACE_S`` for the tool to unwind (its journal appends are
   whole or torn-and-repaired, its worktrees removed by its ``finally``);
4. exits: 143 for SIGTERM, 130 for SIGINT (docs/contract.md).

The server also stops when its parent dies (``watch_parent``): the agent
CLI that started it, killed with ``-9``, takes its ``campaign mcp`` with it
within a second.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

GRACE_S = 20.0


def _stop(signum: int, tools: Any) -> None:
    from campaign.contract import ExitCode
    from campaign.measure.procs import kill_live_children, request_termination

    for sig in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the unwinding short
        signal.signal(sig, lambda *_: None)
    request_termination()
    kill_live_children()
    lock = getattr(tools, "_one_at_a_time", None)
    finished = lock.acquire(timeout=GRACE_S) if lock is not None else True
    name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
    note = "" if finished else f" (the tool in flight did not stop within {GRACE_S:g} s; `campaign status` says how to continue)"
    try:
        sys.stderr.write(f"campaign mcp: stopping on {name}{note}\n")
        sys.stderr.flush()
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    os._exit(ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED)


def watch_parent(interval_s: float = 1.0) -> None:
    """SIGTERM to this process once its parent is gone (re-parented: ``getppid`` changed).

    A watcher thread rather than ``PR_SET_PDEATHSIG``: that signal fires when
    the parent *thread* that spawned us exits, and a client may spawn its
    servers from a short-lived thread (a Tokio blocking pool).
    """
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="campaign-mcp-parent-watch", daemon=True).start()


def serve_stdio(server: Any) -> None:
    """Serve ``server`` (``build_server``) over stdio until the client goes, or SIGTERM/SIGINT stops it."""
    tools = getattr(server, "loop_tools", None)
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: _stop(signum, tools))
    except ValueError:  # not the main thread: the SDK's own behaviour stays
        pass
    watch_parent()
    server.run("stdio")
