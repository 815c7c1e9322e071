"""The agent's spend summed from the journal: per iteration and per campaign (pure).

Each ``agent`` event may carry a ``usage`` object (``campaign.agents.usage``
says what the CLIs report and how it is read); an exchange whose agent
reported nothing counts in ``exchanges`` but not in ``reported``, and adds
nothing to the sums: an unknown spend is shown as unknown, never as 0.
``tokens`` is input plus output (cached input included: the model read it).
"""

from __future__ import annotations

from typing import Any

from campaign.loop import record

COUNTS = ("input_tokens", "cached_input_tokens", "output_tokens")


def empty() -> dict[str, Any]:
    return {"exchanges": 0, "reported": 0, "input_tokens": None, "cached_input_tokens": None,
            "output_tokens": None, "tokens": None, "cost_usd": None}


def add(total: dict[str, Any], usage: dict[str, Any] | None) -> dict[str, Any]:
    """``total`` with one more exchange (its ``usage`` may be None: not reported)."""
    out = {**total, "exchanges": total["exchanges"] + 1}
    if not isinstance(usage, dict):
        return out
    out["reported"] += 1
    for key in (*COUNTS, "cost_usd"):
        value = usage.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = (out[key] or 0) + value
    if out["cost_usd"] is not None:
        out["cost_usd"] = round(out["cost_usd"], 6)
    if out["input_tokens"] is not None or out["output_tokens"] is not None:
        out["tokens"] = (out["input_tokens"] or 0) + (out["output_tokens"] or 0)
    return out


def summarize(events: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"total": ..., "iterations": [{"iteration": n, ...}, ...], "between": ...}`` over the agent events.

    ``between``: exchanges outside any iteration (a THINK that declared a
    bottleneck exhausted, or that failed before an iteration began).
    """
    total, between = empty(), empty()
    per: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.get("type") != "agent":
            continue
        data = record.load_data("agent", event.get("data") or {})
        if data.get("step") == "attempt":
            continue  # an attempt's status change (`--parallel`) is no exchange
        usage = data.usage
        total = add(total, usage)
        n = event.get("iteration")
        if n is None:
            between = add(between, usage)
        else:
            per[n] = add(per.get(n, empty()), usage)
    return {"total": total, "iterations": [{"iteration": n, **per[n]} for n in sorted(per)], "between": between}


def any_reported(summary: dict[str, Any]) -> bool:
    return bool(summary["total"]["reported"])


def describe(total: dict[str, Any]) -> str:
    """One line for people: "$0.42, 12,345 tokens (10,000 in, 2,345 out) over 9 exchanges"."""
    parts = []
    if total.get("cost_usd") is not None:
        parts.append(f"${total['cost_usd']:.2f}")
    if total.get("tokens") is not None:
        parts.append(f"{total['tokens']:,} tokens ({total.get('input_tokens') or 0:,} in, "
                     f"{total.get('output_tokens') or 0:,} out)")
    text = ", ".join(parts) or "not reported"
    text += f" over {total['exchanges']} exchange{'s' if total['exchanges'] != 1 else ''}"
    unreported = total["exchanges"] - total["reported"]
    if total["reported"] and unreported:
        text += f" ({unreported} not reported)"
    return text


def budget(run: dict[str, Any] | None) -> tuple[float | None, int | None]:
    """The budget recorded with the latest ``campaign run`` (``--budget-usd``, ``--budget-tokens``)."""
    run = run or {}
    usd, tokens = run.get("budget_usd"), run.get("budget_tokens")
    return (float(usd) if isinstance(usd, (int, float)) else None,
            int(tokens) if isinstance(tokens, (int, float)) else None)
