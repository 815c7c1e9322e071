"""Who drives a campaign: the driver lease of ``campaign run``, and who wrote each event.

While ``campaign run`` drives a campaign, only the runner writes its record.
Its agent runs in the same repository with a shell (Codex CLI) or an MCP
server (Claude Code) and reads AGENTS.md, which describes the step commands:
a ``campaign think`` run from there would pre-register the agent's guess
behind the runner's back. So the runner holds a *lease*:
``<git dir>/campaign/<name>/driver.json`` with its pid, host, boot id, PID
namespace, a random nonce and a heartbeat (``beat``, rewritten every
``HEARTBEAT_S`` seconds by a daemon thread). Any other process that wants to
write the record sees a live lease and is refused (``DrivenError``, exit 5);
the runner's own step calls pass because its nonce is held in this process
(``_held``), never in the environment its children inherit.

Liveness is the heartbeat's age, not ``kill -0``: a Codex tool shell runs in
a private PID namespace (the runner's pid does not exist there) and sees
``.git`` read-only, but it can read the lease and the clock. Only a reader in
the runner's own PID namespace on the same boot also asks the process table,
so a ``kill -9``'d runner is known dead at once instead of ``STALE_S`` later.

Every event carries its ``writer`` (``current_writer``): ``{"by": "runner",
"run": <nonce>, "pid": ...}`` for a runner, ``{"by": "command", "command":
"campaign think ...", "pid": ...}`` for anything else; ``campaign review``
flags an event that no runner wrote between two events of one run.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from campaign.errors import DrivenError

LEASE_NAME = "driver.json"
HEARTBEAT_S = 2.0
DEFAULT_STALE_S = 20.0

_held: dict[str, str] = {}  # lease path -> nonce, for the leases this process holds


def stale_after_s() -> float:
    try:
        return float(os.environ.get("CAMPAIGN_DRIVER_STALE_S", DEFAULT_STALE_S))
    except ValueError:
        return DEFAULT_STALE_S


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def identity() -> dict[str, Any]:
    """Where this process runs: host, boot and PID namespace (what decides whether its pid means anything)."""
    return {"host": socket.gethostname(), "boot_id": _read_text("/proc/sys/kernel/random/boot_id"),
            "pid_ns": _pid_namespace()}


def read_lease(folder: Path | None) -> dict[str, Any] | None:
    if folder is None:
        return None
    try:
        lease = json.loads((Path(folder) / LEASE_NAME).read_text())
    except (OSError, ValueError):
        return None
    return lease if isinstance(lease, dict) else None


def lease_alive(lease: dict[str, Any] | None, now: float | None = None, here: dict[str, Any] | None = None) -> bool:
    """Is the lease's holder alive? A fresh heartbeat, and, seen from its own PID namespace, a running pid."""
    if not lease:
        return False
    now = time.time() if now is None else now
    try:
        age = now - float(lease.get("beat"))
    except (TypeError, ValueError):
        return False
    if age > stale_after_s():
        return False
    here = identity() if here is None else here
    same = all(lease.get(k) and lease.get(k) == here.get(k) for k in ("host", "boot_id", "pid_ns"))
    if same:  # the pid means the same process here: a killed runner is dead now, not STALE_S from now
        from campaign.measure.procs import process_alive

        return process_alive(lease.get("pid"), lease.get("started"))
    return True


def live_lease(folder: Path | None) -> dict[str, Any] | None:
    """The lease of a runner that drives the campaign now, or None."""
    lease = read_lease(folder)
    return lease if lease_alive(lease) else None


def holds(folder: Path | None, lease: dict[str, Any] | None = None) -> bool:
    """Does this process hold the lease in ``folder``?"""
    if folder is None:
        return False
    lease = read_lease(folder) if lease is None else lease
    nonce = _held.get(str(Path(folder) / LEASE_NAME))
    return bool(nonce and lease and lease.get("nonce") == nonce)


def refuse_if_driven(folder: Path | None, name: str) -> None:
    """Refuse a write to the record while another process's ``campaign run`` drives it."""
    lease = live_lease(folder)
    if lease is None or holds(folder, lease):
        return
    raise DrivenError(driven_message(lease, name), {"driver": public_lease(lease)})


def public_lease(lease: dict[str, Any]) -> dict[str, Any]:
    """What a refusal or ``status`` shows of a lease (not the nonce)."""
    return {k: lease.get(k) for k in ("pid", "host", "agent", "since", "command")}


def driven_message(lease: dict[str, Any], name: str) -> str:
    agent = lease.get("agent") or "an agent"
    return (f"`campaign run` (pid {lease.get('pid')} on {lease.get('host')}, agent {agent!r}, since "
            f"{lease.get('since')}) drives campaign {name!r}: while it runs, only it writes the record, so "
            f"this command changed nothing. If you are its agent: do not run campaign steps (think, plan, try, "
            f"log, ...) yourself; answer the request in your prompt (the fenced JSON answer it asks for, or "
            f"the edit at IMPLEMENT) and stop: the runner records it and runs the step. To take over by hand, "
            f"stop the run first (Ctrl-C in its terminal, or `kill {lease.get('pid')}`); `campaign status` "
            f"says when it has stopped.")


def current_writer() -> dict[str, Any]:
    """Who writes an event now: the runner holding a lease in this process, or a command."""
    from campaign.loop.journal import command_line

    if _held:
        return {"by": "runner", "run": next(iter(_held.values())), "pid": os.getpid()}
    return {"by": "command", "command": command_line(list(sys.argv)), "pid": os.getpid()}


def cli_command() -> str:
    """This ``campaign``'s CLI as an absolute command line, whatever a shell does to PATH.

    A coding CLI's tool shell may be a login shell that rebuilds PATH (Codex
    CLI's does): ``campaign`` and ``python`` are then not this installation's.
    AGENTS.md, SKILL.md and every prompt name this command instead.
    """
    import shlex

    script = Path(sys.executable).parent / "campaign"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m campaign"


class DriverLease:
    """The lease ``campaign run`` holds while it drives (a context manager; a heartbeat thread keeps it fresh)."""

    def __init__(self, folder: Path, agent: str | None = None, argv: list[str] | None = None,
                 heartbeat_s: float = HEARTBEAT_S):
        self.folder = Path(folder)
        self.path = self.folder / LEASE_NAME
        self.agent = agent
        self.argv = list(argv if argv is not None else sys.argv)
        self.heartbeat_s = heartbeat_s
        self.nonce = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease: dict[str, Any] = {}

    def acquire(self, name: str) -> "DriverLease":
        """Take the lease; refuse when another live runner holds it."""
        other = live_lease(self.folder)
        if other is not None and not holds(self.folder, other):
            raise DrivenError(driven_message(other, name), {"driver": public_lease(other)})
        import psutil

        from campaign.loop.journal import command_line, now_iso

        self._lease = {**identity(), "pid": os.getpid(), "started": psutil.Process().create_time(),
                       "nonce": self.nonce, "since": now_iso(), "agent": self.agent,
                       "command": command_line(self.argv)}
        _held[str(self.path)] = self.nonce
        self._beat()
        self._thread = threading.Thread(target=self._run, name="campaign-driver-heartbeat", daemon=True)
        self._thread.start()
        return self

    def set_agent(self, agent: str) -> None:
        self._lease["agent"] = agent
        self._beat()

    def _beat(self) -> None:
        lease = {**self._lease, "beat": time.time()}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{LEASE_NAME}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(lease, sort_keys=True))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a missed beat only makes the lease look older; the runner keeps going

    def _run(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            self._beat()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        _held.pop(str(self.path), None)
        lease = read_lease(self.folder)
        if lease is not None and lease.get("nonce") == self.nonce:
            try:
                self.path.unlink()
            except OSError:
                pass

    def __exit__(self, *exc) -> None:
        self.release()


class RunLease:
    """``campaign run``'s lease for its whole life: taken once the campaign's name is known, released at the end."""

    def __init__(self, workspace: Path):
        self.workspace = Path(workspace)
        self.lease: DriverLease | None = None

    def take(self, name: str, agent: str | None) -> None:
        from campaign.loop.record_place import copy_dir

        folder = copy_dir(self.workspace, name)
        if folder is not None:  # outside a git repository there is no campaign to drive (init refuses)
            self.lease = DriverLease(folder, agent).acquire(name)

    def set_agent(self, agent: str) -> None:
        if self.lease is not None:
            self.lease.set_agent(agent)

    def __enter__(self) -> "RunLease":
        return self

    def __exit__(self, *exc) -> None:
        if self.lease is not None:
            self.lease.release()
