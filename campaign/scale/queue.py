"""One measurement at a time per host: the queue every TEST + BENCHMARK of a parallel run goes through.

Co-located benchmarks destroy measurement (ten concurrent runs on one host:
a 34.8% coefficient of variation against 8.0% one after another), so
parallel attempts never mean parallel measurement on one host. In one
process the queue is a lock per host name; across processes on one machine
(a local cluster's workers share its CPUs) an ``flock`` on a file per host
in the system's temp folder serialises them too: the kernel drops it when
its holder dies, so a killed worker never blocks the queue.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()
DIR_VAR = "CAMPAIGN_QUEUE_DIR"


def _lock_for(host: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(host, threading.Lock())


def _lock_file(machine: str) -> Path:
    root = Path(os.environ.get(DIR_VAR) or tempfile.gettempdir()) / f"campaign-measure-{os.getuid()}"
    root.mkdir(parents=True, exist_ok=True)
    return root / f"{machine}.lock"


@contextmanager
def measuring(host: str, machine: str | None = None) -> Iterator[float]:
    """Hold ``host``'s measurement slot (and the machine's, across processes); yields the seconds waited."""
    import socket

    start = time.monotonic()
    with _lock_for(host), open(_lock_file(machine or socket.gethostname()), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield time.monotonic() - start
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
