"""Which host measured a result: its fingerprint, carried by every attempt's result.

Verdicts never pool blocks from two hosts: each attempt's TEST and BENCHMARK
run whole on one host, and its result says which (``fingerprint``), so a
reader can tell two measurements apart by machine. ``name`` is what the live
view shows; ``CAMPAIGN_HOST_NAME`` overrides it (two worker processes on one
machine play two hosts in the cluster test).
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from typing import Any

NAME_VAR = "CAMPAIGN_HOST_NAME"


def name() -> str:
    return os.environ.get(NAME_VAR) or socket.gethostname()


def fingerprint() -> dict[str, Any]:
    """CPU model, cores, kernel, Python and the load now: what a timing on this host depends on."""
    from campaign.measure.environment import _cpu_model

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"host": name(), "machine": socket.gethostname(), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "kernel": platform.release(), "python": sys.version.split()[0], "load": load}


def same_host(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two fingerprints name one measuring host (pure): its name, CPU and kernel agree."""
    if not a or not b:
        return False
    return all(a.get(k) == b.get(k) for k in ("host", "cpu", "kernel"))
