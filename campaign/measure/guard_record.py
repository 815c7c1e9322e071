"""What the guards recorded on an attempt, and what a claim needs after its benchmark. Pure.

``campaign.measure.integrity`` checks a benchmark's claim while it is measured; this module reads what the
journal kept of that check and of the held-out inputs (``GuardRecord``, ``refusal``, ``guards_ran``) and marks a
claim big enough to need more evidence (``suspicion``). Moved out of ``integrity.py`` to keep it under 400
lines; ``integrity`` re-exports every name, so callers import them from there as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUSPICIOUS = 10.0  # a claim above this (or above the plan's Amdahl bound) needs held-out inputs at full size
SEALED = ("sealed runs", "record out of reach", "persistent state", "harness frozen")


def suspicion(bench: dict, amdahl_bound: float | None) -> dict[str, Any] | None:
    """A claim big enough to need more evidence: above ``SUSPICIOUS`` or the plan's Amdahl bound. Pure."""
    claim = bench.get("speedup") or 0.0
    if bench.get("verdict") != "faster":
        return None
    bound = amdahl_bound if isinstance(amdahl_bound, (int, float)) and math.isfinite(amdahl_bound) else None
    if claim < SUSPICIOUS and (bound is None or claim <= bound * 1.1):
        return None
    why = f"{claim:.1f}x is above {SUSPICIOUS:g}x" if claim >= SUSPICIOUS else f"{claim:.1f}x is above the Amdahl bound {bound:.2f}x"
    return {"claim": claim, "threshold": SUSPICIOUS, "amdahl_bound": bound, "why": why, "heldout_full": None}


def with_heldout(test: dict, heldout: dict) -> dict:
    """``test`` event fields after the held-out check: its record, and a failure when its outputs differ. Pure."""
    failures = list(test.get("failures") or []) + list(heldout.get("failures") or [])
    return {"heldout": heldout, "failures": failures, "passed": bool(test.get("passed")) and heldout["passed"]}


def _object(value: Any) -> dict[str, Any]:
    """A recorded object, or an empty one where the record has none (``None``, or an older record)."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class GuardRecord:
    """What the guards recorded on one attempt, read once from its ``benchmark`` and ``test`` event data. Pure."""

    refused: str | None  # the benchmark's integrity guards refused the claim
    full_refused: str | None  # ... at the full-scale case
    guards: tuple[dict[str, Any], ...]  # each integrity guard: name, ran, passed
    heldout: dict[str, Any] | None  # the held-out reading the verdict rests on: TEST's, or its second look pooled
    recheck: dict[str, Any] | None  # the second look on fresh seeds (``claim_checks``), when TEST's was under the bar
    suspicion: dict[str, Any] | None  # a claim above the Amdahl bound or SUSPICIOUS
    heldout_full: dict[str, Any] | None  # the suspicion's held-out check at full size

    @classmethod
    def of(cls, bench: Mapping[str, Any] | None, test: Mapping[str, Any] | None) -> GuardRecord:
        bench_, test_ = _object(bench), _object(test)
        integrity = _object(bench_.get("integrity"))
        suspicion = bench_.get("suspicion") or None
        recheck = bench_.get("heldout_recheck") or None
        return cls(refused=integrity.get("refused"),
                   full_refused=_object(_object(bench_.get("full")).get("integrity")).get("refused"),
                   guards=tuple(integrity.get("guards") or ()), heldout=recheck or test_.get("heldout"),
                   recheck=recheck, suspicion=suspicion, heldout_full=_object(suspicion).get("heldout_full"))


def refusal(bench: dict | None, test: dict | None = None) -> str | None:
    """Why a recorded attempt's guards refuse it (None: they do not, or none ran). Pure."""
    from campaign.measure.heldout import transfer_refusal

    bench = bench or {}
    record = GuardRecord.of(bench, test)
    found = record.refused or record.full_refused or transfer_refusal(record.heldout, bench)
    if found:
        return found
    recheck = record.recheck  # the second look found outputs that differ from the baseline's
    if recheck and not recheck.get("passed") and recheck.get("failures"):
        return str(recheck["failures"][0]["message"])
    full = record.heldout_full
    if full:
        if not full.get("passed"):
            return f"held-out inputs at full size: {full['failures'][0]['message']}"
        return transfer_refusal(full, bench)
    return None


def guards_ran(test: dict, bench: dict) -> list[dict[str, Any]]:
    """Which guards ran on an attempt and what each found (the journal's and the report's list). Pure."""
    record = GuardRecord.of(bench, test)
    rows = [{"name": name, "ran": True, "passed": True} for name in SEALED]
    for guard in record.guards:  # the blocks BENCHMARK added for the clock guard, where it held the claim
        added = {"blocks_added": guard["blocks_added"]} if guard.get("blocks_added") else {}
        rows.append({"name": guard["name"], "ran": guard["ran"], "passed": guard["passed"], **added})
    from campaign.measure.heldout import transfer_refusal

    held = record.heldout  # a second look on fresh seeds reads all of them
    rows.append({"name": "held-out inputs", "ran": bool(held),
                 "passed": not held or (bool(held.get("passed")) and transfer_refusal(held, bench) is None),
                 "speedup": held.get("speedup") if held else None, "clock": held.get("clock") if held else None})
    if record.suspicion:
        full = record.heldout_full
        rows.append({"name": "suspicion: held-out at full size", "ran": bool(full),
                     "passed": full is not None and bool(full.get("passed")) and transfer_refusal(full, bench) is None})
    return rows
