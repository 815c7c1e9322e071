"""The lock (``CampaignLock``): one ``campaign`` command at a time per campaign.
The second waits ``CAMPAIGN_LOCK_TIMEOUT`` seconds (default 3) and then refuses,
naming the command that holds it (its argv and pid are stored in
``.lock.holder`` beside the lock file ``.lock``). The lock is an OS file lock
(flock): a killed holder releases it automatically; ``running_holder`` tells
a live holder (its pid runs, and started before it took the lock) from the
leftover holder file of a killed one.

``holder_alive`` is the process liveness check; ``command_line`` is how a
holder's argv reads to a user.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from campaign.errors import LockError
from campaign.loop.journal_format import now_iso

LOCK_NAME = ".lock"
HOLDER_NAME = ".lock.holder"
DEFAULT_LOCK_TIMEOUT_S = 3.0


def command_line(argv: list[str]) -> str:
    """How a holder's argv reads to a user: ``campaign try --full``."""
    if not argv:
        return "campaign ..."
    head = Path(argv[0]).name
    if head in ("campaign", "__main__.py") or head.startswith("python"):
        rest = argv[1:]
        if rest[:2] == ["-m", "campaign"]:
            rest = rest[2:]
        return " ".join(["campaign", *rest])
    return " ".join(argv)


def holder_alive(holder: dict[str, Any]) -> bool:
    """Does the holder's pid run, and did that process start before it took the lock (not a reused pid)?"""
    import psutil

    try:
        process = psutil.Process(int(holder["pid"]))
        started = process.create_time()
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False
    try:
        since = datetime.fromisoformat(str(holder.get("since"))).timestamp()
    except ValueError:
        return True
    return started <= since + 1.0


class CampaignLock:
    """Exclusive lock on one campaign for the duration of a command (re-entrant in-process)."""

    def __init__(self, record_dir: Path, timeout_s: float | None = None, argv: list[str] | None = None,
                 lock_name: str = LOCK_NAME, holder_name: str = HOLDER_NAME):
        self.record_dir = Path(record_dir)
        self.lock_name, self.holder_name = lock_name, holder_name
        if timeout_s is None:
            timeout_s = float(os.environ.get("CAMPAIGN_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_S))
        self.timeout_s = timeout_s
        self.argv = list(argv if argv is not None else sys.argv)
        self._lock: Any = None  # a filelock.SoftFileLock while held
        self._depth = 0

    @property
    def holder_path(self) -> Path:
        return self.record_dir / self.holder_name

    def holder(self) -> dict[str, Any] | None:
        try:
            holder = json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def running_holder(self) -> dict[str, Any] | None:
        """The holder, when it is a live process (a killed one leaves its holder file behind)."""
        holder = self.holder()
        return holder if holder is not None and holder_alive(holder) else None

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        from filelock import FileLock, Timeout

        self.record_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.record_dir / self.lock_name))
        try:
            lock.acquire(timeout=self.timeout_s)
        except Timeout:
            holder = self.holder() or {}
            command = command_line(holder.get("argv") or [])
            raise LockError(
                f"another campaign command is running on this campaign: `{command}` "
                f"(pid {holder.get('pid', '?')}, since {holder.get('since', '?')}); waited "
                f"{self.timeout_s:g} s for it. Let it finish (`campaign status` shows where things "
                f"stand), then run your command again; writes never interleave."
            ) from None
        self._lock = lock
        self._depth = 1
        self.holder_path.write_text(json.dumps({"pid": os.getpid(), "argv": self.argv, "since": now_iso()}))

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        try:
            self.holder_path.unlink()
        except OSError:
            pass
        self._lock.release()
        self._lock = None

    def __enter__(self) -> "CampaignLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
