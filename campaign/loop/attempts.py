"""Parallel attempts as the journal records them (pure): ids, lifecycle events, what a resume finds.

``campaign run --parallel K`` keeps up to K attempts in flight. An attempt
is one option of a THINK answer, implemented by its own agent in its own git
worktree; once implemented it waits in the host's measurement queue and then
becomes one journal iteration (think, plan, implement, test, benchmark, log),
recorded by the controller alone. Its lifecycle is journaled as ``agent``
events with ``step: "attempt"`` (neutral: they never move the state
machine), one per change of status::

    planned      THINK gave it (its plan, the commit its worktree starts from)
    implemented  its agent finished: the patch is kept in the record (sha256); its IMPLEMENT
                 exchange is an ``agent`` event of its own, with the attempt's id (its spend counts at once)
    failed       its agent failed (crashed, hung, changed nothing)
    measuring    it becomes iteration N (written just before N's ``think``)
    requeued     a host died while measuring it: measured again on another (a note; the status stays)
    kept / reverted / superseded   its iteration's LOG decided
    dropped      the campaign stopped before it was measured

``superseded``: not kept, and another attempt was kept after this one's
worktree started (it was measured against that newer code, or its patch no
longer applied). ``pending`` reads the journal back after a crash: nothing
recorded is re-run, only what was not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STEP = "attempt"
DONE = ("kept", "reverted", "superseded", "dropped")
PATCH_DIR = "attempts"


@dataclass
class Attempt:
    """One option in flight, as the journal says it stands."""

    id: str
    plan: dict[str, Any]
    base: str | None = None  # the commit its worktree started from
    status: str = "planned"
    patch: str | None = None  # relative to the record folder
    patch_sha256: str | None = None
    summary: str | None = None
    error: str | None = None
    files: list[str] = field(default_factory=list)
    iteration: int | None = None
    host: str | None = None
    since: str | None = None  # when its current status began (ISO)
    planned_at: str | None = None
    step: str = "implement"  # what it is doing now, for the live view
    requeued: int = 0

    @property
    def predicted(self) -> float:
        try:
            return float(self.plan.get("predicted_speedup") or 0)
        except (TypeError, ValueError):
            return 0.0

    @property
    def ready(self) -> bool:
        """Implemented (or failed) and not yet an iteration: waiting in the measurement queue."""
        return self.status in ("implemented", "failed")


def event(attempt: Attempt, status: str, **extra: Any) -> dict[str, Any]:
    """The ``agent`` event data of one status change (pure)."""
    data = {"step": STEP, "agent": None, "attempt": attempt.id, "status": status, "plan_key": attempt.plan.get("key"),
            "title": attempt.plan.get("title")}
    if status == "planned":
        data.update(plan=attempt.plan, base=attempt.base)
    data.update(extra)
    return data


def is_attempt_event(event_: dict[str, Any]) -> bool:
    data = event_.get("data")
    return event_.get("type") == "agent" and isinstance(data, dict) and data.get("step") == STEP


def next_id(events: list[dict[str, Any]]) -> int:
    """The number of the next attempt id (``a<N>``): one more than any the journal holds (pure)."""
    numbers = [int(str(e["data"].get("attempt", "a0"))[1:] or 0) for e in events if is_attempt_event(e)]
    return max(numbers, default=0) + 1


def fold(events: list[dict[str, Any]], iterations: int) -> dict[str, Attempt]:
    """Every attempt the journal names, at its latest status (pure).

    ``iterations``: how many iterations the journal holds; a ``measuring``
    whose iteration never got its ``think`` (a crash in between) is back to
    ready, its earlier status restored.
    """
    out: dict[str, Attempt] = {}
    before_measuring: dict[str, str] = {}
    for e in events:
        if not is_attempt_event(e):
            continue
        data = e["data"]
        aid, status = data["attempt"], data["status"]
        if status == "planned":
            out[aid] = Attempt(aid, dict(data.get("plan") or {}), data.get("base"), since=e.get("ts"),
                               planned_at=e.get("ts"), host=data.get("host"))
            continue
        at = out.get(aid)
        if at is None:
            continue
        if status == "measuring":
            before_measuring[aid] = at.status
            at.iteration = data.get("iteration")
            at.step = "test+benchmark"
        if status == "requeued":  # a note beside the measuring status: a host died while measuring it
            at.requeued += 1
            continue
        for key in ("patch", "patch_sha256", "summary", "error", "host"):
            if data.get(key) is not None:
                setattr(at, key, data[key])
        if data.get("files") is not None:
            at.files = list(data["files"])
        at.status, at.since = status, e.get("ts")
    for aid, at in out.items():
        if at.status == "measuring" and (at.iteration or 0) > iterations:
            at.status, at.iteration = before_measuring.get(aid, "implemented"), None
    return out


def pending(attempts: dict[str, Attempt]) -> list[Attempt]:
    """The attempts not yet decided, in id order (pure)."""
    return sorted((a for a in attempts.values() if a.status not in DONE),
                  key=lambda a: int(a.id[1:]))


def of_iteration(attempts: dict[str, Attempt], n: int) -> Attempt | None:
    """The attempt that became iteration ``n`` (None: it began serially or by hand)."""
    return next((a for a in attempts.values() if a.iteration == n and a.status == "measuring"), None)


def pick(ready: list[Attempt]) -> Attempt | None:
    """Which ready attempt the measurement queue takes next (pure): the largest prediction first.

    The best-looking option is measured against the code all of them started
    from; the others then go against whatever it leaves kept.
    """
    if not ready:
        return None
    return min(ready, key=lambda a: (-a.predicted, int(a.id[1:])))


def outcome(kept: bool, kept_since_base: bool) -> str:
    """The attempt's final status from its LOG (pure)."""
    if kept:
        return "kept"
    return "superseded" if kept_since_base else "reverted"


LIVE_STEPS = {"planned": "implement", "implemented": "queued", "failed": "queued (implement failed)"}


def live_view(events: list[dict[str, Any]], state, now_iso: str) -> list[dict[str, Any]]:
    """Each attempt in flight: its step, host and elapsed seconds since THINK planned it (pure).

    ``campaign status`` shows it; a measured attempt's step is its iteration's step due.
    """
    from datetime import datetime

    def seconds(since: str | None) -> float | None:
        try:
            return round((datetime.fromisoformat(now_iso) - datetime.fromisoformat(str(since))).total_seconds(), 1)
        except ValueError:
            return None

    rows = []
    for a in pending(fold(events, len(state.iterations))):
        step = LIVE_STEPS.get(a.status, a.status)
        if a.status == "measuring":
            step = f"iteration {a.iteration}: {state.step.value}"
        rows.append({"attempt": a.id, "title": a.plan.get("title"), "status": a.status, "step": step,
                     "host": a.host, "elapsed_s": seconds(a.planned_at)})
    return rows
