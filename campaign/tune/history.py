"""Saved tunes (``--save`` / ``--history``) and opening the store they live in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from campaign.tune import store as tune_store
from campaign.tune.errors import TuneError
from campaign.tune.space import label


def open_store(workspace: Path, storage: str | None) -> tuple[str, "tune_store.TuneStore"]:
    url = storage or tune_store.default_storage_url(Path(workspace))
    try:
        return url, tune_store.TuneStore(url)
    except tune_store.StoreError as exc:
        raise TuneError(str(exc)) from None


def history(workspace: Path, storage: str | None, name: str | None) -> dict:
    """Saved tunes (all, or those saved under ``name``), with a comparison of their configurations."""
    url, store = open_store(Path(workspace), storage)
    try:
        runs = store.list_runs(name)
    except tune_store.StoreError as exc:
        raise TuneError(str(exc)) from None
    finally:
        store.close()
    if name is not None and not runs:
        raise TuneError(f"no saved tune named {name!r} in {tune_store.redact(url)} (save one with --save {name}).")
    summary = []
    for r in runs:
        rep = r["report"]
        summary.append({
            "id": r["id"], "name": r["name"], "target": r["target"],
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["created"])),
            "strategy": rep.get("strategy"), "preset": rep.get("preset"), "code_version": rep.get("code_version"),
            "chosen": rep.get("chosen"), "speedup": rep.get("winner", {}).get("speedup") if rep.get("improved") else 1.0,
            "improved": rep.get("improved"), "machine": rep.get("machine", {}).get("cpu_model"),
        })
    compare: dict[str, dict[str, Any]] = {}
    for r in runs:
        for row in r["report"].get("configs", []):
            compare.setdefault(label(row["knobs"]), {})[str(r["id"])] = row.get("speedup")
    return {"storage": tune_store.redact(url), "name": name, "runs": summary, "compare": compare}


def format_history(data: dict) -> str:
    if not data["runs"]:
        return f"no saved tunes in {data['storage']} (save one with campaign tune ... --save NAME)"
    lines = ["| id | name | target | when | strategy/preset | code | chosen | speedup |", "|---|---|---|---|---|---|---|---|"]
    for r in data["runs"]:
        sp = f"{r['speedup']:.3f}x" if r["speedup"] is not None else "-"
        lines.append(f"| {r['id']} | {r['name']} | {r['target']} | {r['created']} | {r['strategy']}/{r['preset']} "
                     f"| {r['code_version']} | {label(r['chosen'] or {})} | {sp} |")
    if data["name"] is not None and len(data["runs"]) >= 1:
        ids = [str(r["id"]) for r in data["runs"]]
        lines += ["", "speedup vs default per configuration and saved run:", "",
                  "| configuration | " + " | ".join(f"run {i}" for i in ids) + " |",
                  "|---|" + "---|" * len(ids)]
        for cfg, by_run in data["compare"].items():
            cells = [f"{by_run[i]:.3f}x" if by_run.get(i) is not None else "-" for i in ids]
            lines.append(f"| {cfg} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
