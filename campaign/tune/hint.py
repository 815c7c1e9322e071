"""The analytical hint: a dry run of the target's parallel map, and the speedup it predicts for a configuration."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from campaign.tune import parallel_model
from campaign.tune import store as tune_store
from campaign.tune.measurement import Protocol


def predicted(hint: dict | None, full: dict[str, Any]) -> float | None:
    if not hint or not hint.get("costs"):
        return None
    return parallel_model.predict_for_knobs(parallel_model.ParallelCosts.from_dict(hint["costs"]), full)


def parallel_hint(target, proto: Protocol, default_time_s: float, store=None) -> dict | None:
    """Dry-run the target's parallel map (``python -m campaign.tune.parallel_model``) -> costs, or None.

    Cached like a measurement (same key parts), so a repeated tune repeats its predictions.
    """
    if not hasattr(target, "parallel_map"):
        return None
    workers_knob, _ = parallel_model.knob_roles(list(getattr(target, "knobs", {}) or {}))
    if workers_knob is None:
        return None
    key = tune_store.cache_key(proto.target, "hint:" + proto.key_text(), proto.default, proto.code, proto.machine)
    if store is not None and not proto.refresh:
        cached = store.get(key)
        if cached and cached.get("costs"):
            return dict(cached, cached=True)
    from campaign.measure.procs import run_process

    cmd = [sys.executable, "-m", "campaign.tune.parallel_model", proto.spec, proto.case,
           "--knobs", tune_store.knobs_json(proto.default)]
    res = run_process(cmd, Path(proto.workspace), min(proto.timeout_s, 120.0))
    try:
        data = json.loads([ln for ln in res.stdout.splitlines() if ln.strip()][-1])
    except (IndexError, ValueError):
        data = {"error": "the dry run printed no JSON" + (" (timed out)" if res.timed_out else "")}
    if "costs" not in data:
        return {"error": data.get("error"), "costs": None}
    costs = parallel_model.ParallelCosts.from_dict(data["costs"])
    serial = max(0.0, default_time_s - costs.n_items * costs.item_s)
    costs = costs.with_serial(serial)
    hint = {"costs": costs.to_dict(), "parallel_fraction": parallel_model.parallel_fraction(costs),
            "workers_knob": workers_knob, "error": None, "status": "hint"}
    if store is not None:
        store.put(key, target=proto.target, machine=proto.machine, code=proto.code,
                  protocol="hint:" + proto.key_text(), knobs=proto.default, result=hint)
    return dict(hint, cached=False)
