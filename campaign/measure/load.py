"""How busy the machine is while a block runs: load average and CPU steal.

A block measured while the machine had more runnable processes than cores
is worth less, and a reader of the result should be told. ``sample()``
reads the state (``os.getloadavg``, ``psutil.cpu_times`` for steal, which
is only reported on Linux/VMs); ``block_load(before, after)`` is the pure
part: the load at the end of the block and the share of CPU time stolen by
the hypervisor during it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    load1: float | None
    cpus: int
    steal_s: float | None
    total_s: float | None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def sample() -> Sample:
    try:
        load1 = os.getloadavg()[0]
    except (AttributeError, OSError):
        load1 = None
    steal = total = None
    try:
        import psutil

        times = psutil.cpu_times()
        total = float(sum(times))
        steal = float(times.steal) if hasattr(times, "steal") else None
    except Exception:  # noqa: BLE001 - load is context, never a reason to fail a benchmark
        pass
    return Sample(load1, cpu_count(), steal, total)


def block_load(before: Sample, after: Sample) -> dict:
    """``{"load": 1-min load at the end, "cpus": n, "steal": share of CPU stolen during the block, "busy": bool}``."""
    steal = None
    if (before.steal_s is not None and after.steal_s is not None and before.total_s is not None
            and after.total_s is not None):
        spent = after.total_s - before.total_s
        steal = max(0.0, (after.steal_s - before.steal_s) / spent) if spent > 0 else 0.0
    load = after.load1
    return {"load": None if load is None else round(load, 2), "cpus": after.cpus,
            "steal": None if steal is None else round(steal, 4),
            "busy": load is not None and load > after.cpus}


def busy_note(blocks: list[dict]) -> str | None:
    """One line when the machine was busier than it has cores during some blocks, else None."""
    busy = [b for b in blocks if b.get("busy")]
    if not busy:
        return None
    peak = max(b["load"] for b in busy)
    steal = [b["steal"] for b in blocks if b.get("steal") is not None]
    extra = f", CPU steal up to {max(steal):.0%}" if steal and max(steal) >= 0.01 else ""
    return (f"machine busy: load above its {busy[0]['cpus']} cores during {len(busy)}/{len(blocks)} blocks "
            f"(peak {peak:.1f}{extra}); the interleaving keeps the ratio fair, but the noise is higher")
