"""The attempts of a ``campaign run --parallel K`` campaign as the logs show them (pure).

Each attempt that was measured is an iteration of its own, but the iteration
alone does not say which attempt it was, that it was ``superseded`` (another
attempt was kept after its worktree started) rather than plainly reverted,
or where its patch is (``attempts/aN.patch``: the iteration's
``patches/iter-NN.patch`` may be empty when the patch did not apply). An
attempt never measured (dropped when the campaign stopped) has no iteration
at all. These views name them all; a campaign without attempts gets none, so
its logs render as before.
"""

from __future__ import annotations

from typing import Any

from campaign.loop import attempts as att
from campaign.loop.machine import State


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def attempt_view(attempt: att.Attempt, state: State, why: str | None = None) -> dict[str, Any]:
    """One attempt: id, title, iteration, outcome, verdict and speedup when measured, patch path, in words.

    ``why``: the reason its last status gave (a dropped attempt's), if any.
    """
    it = state.iterations[attempt.iteration - 1] if attempt.iteration and attempt.iteration <= len(state.iterations) \
        else None
    bench = it.benchmark if it else None
    if bench is not None:
        measured = f"{bench.verdict} {_x(bench.speedup)}"
    elif it is not None and it.test is not None and not it.test.passed:
        measured = "TEST failed, not measured"
    else:
        measured = "not measured"
    where = f"iteration {attempt.iteration}" if it is not None else "no iteration"
    patch = f"patch `{attempt.patch}`" if attempt.patch else "no patch"
    reason = why or (attempt.error if it is None else None)
    why_text = f" ({reason})" if reason else ""
    title = str(attempt.plan.get("title") or "").splitlines()[0] if attempt.plan.get("title") else "(untitled)"
    return {
        "id": attempt.id, "iteration": attempt.iteration if it is not None else None, "outcome": attempt.status,
        "line": f"{attempt.id} ({where}): {attempt.status}; {measured}; {patch}{why_text} — {title}",
        "short": f"{attempt.id}, {attempt.status}; {patch}",
    }


def attempt_views(events: list[dict[str, Any]], state: State) -> list[dict[str, Any]]:
    """Every attempt the journal names, in id order; empty for a serial campaign."""
    folded = att.fold(events, len(state.iterations))
    why = {e["data"]["attempt"]: e["data"].get("why") for e in events
           if att.is_attempt_event(e) and e["data"].get("status") == "dropped"}
    return [attempt_view(a, state, why.get(a.id) if a.status == "dropped" else None)
            for a in sorted(folded.values(), key=lambda a: int(a.id[1:] or 0))]
