"""LOG: the optimization-log and thinking-journal entry, and the keep-or-revert decision.

Refuses: a log without ``--surprise`` (write "None" explicitly if nothing
surprised you); a missing postmortem (``--why`` and ``--lesson``) when the
measured speedup misses the prediction by more than the postmortem factor;
``--keep`` on a change that failed TEST, failed a guard on its claim
(``measure/integrity.py``: a clock disagreement, a warm-only speedup) or was measured slower (except a
fix, with ``--keep REASON``, that passed the full case after FINISH found the
last kept tree wrong on it: speed against a wrong tree means nothing); a
working tree that changed since ``campaign try`` tested it, kept or not (LOG
commits or reverts exactly the tested tree: ``loop/tested_tree.py``). A faster
change is kept, "same"/"inconclusive" only with ``--keep REASON``, anything
else reverted; a change whose peak memory rises beyond the memory limit
(``campaign.measure.memory``, default +25%) only with ``--accept-memory REASON``. LOG writes its decision first, then commits or reverts
(``steps/commit.py``); a LOG interrupted in between is completed by the
next command, taking no new input.
"""

from __future__ import annotations

from typing import Any

from campaign.errors import RuleError
from campaign.loop import machine
from campaign.loop import record, stopping
from campaign.loop.tested_tree import require_tested_tree
from campaign.loop.machine import Step
from campaign.loop.steps.context import CampaignContext
from campaign.measure.integrity import refusal


def _postmortem(state: machine.State, it: machine.Iteration, why: str | None, lesson: str | None) -> dict[str, Any] | None:
    """The postmortem to record; refused when the result misses the prediction by the factor and none is given."""
    factor = state.postmortem_factor
    if stopping.postmortem_required(it.predicted, it.speedup, factor):
        if not (why and why.strip() and lesson and lesson.strip()):
            raise RuleError(
                f"a postmortem is required: the measured {it.speedup:.2f}x misses the predicted "
                f"{it.predicted:.2f}x by more than a factor of {factor:g}. Add --why '<why it diverged>' "
                f"--lesson '<what this teaches about the code>'."
            )
    if (why and why.strip()) or (lesson and lesson.strip()):
        return {"why": (why or "").strip() or None, "lesson": (lesson or "").strip() or None}
    return None


def _kept(state: machine.State, it: machine.Iteration, keep_reason: str | None) -> bool:
    """Keep or revert: a failed TEST or guard never keeps, faster keeps, same/inconclusive only with --keep."""
    test, bench = it.test or record.Test(), it.benchmark or record.Benchmark()
    verdict = bench.verdict
    if not test.passed:
        if keep_reason:
            raise RuleError("--keep is refused: the change failed TEST, and a failed change is never kept. "
                            "Log it without --keep; it will be reverted and its diff kept in patches/.")
        return False
    if refusal(bench, test):  # a guard on the claim failed (campaign.measure.integrity): never kept
        if keep_reason:
            raise RuleError(f"--keep is refused: {refusal(bench, test)}. Log it without --keep; it will be "
                            f"reverted.")
        return False
    if verdict == "faster":
        return True
    if verdict in ("same", "inconclusive"):
        return keep_reason is not None
    if keep_reason and fixes_the_full_case(state, it):
        return True  # the last kept tree is wrong at scale: speed against it means nothing
    if keep_reason:
        raise RuleError(f"--keep is refused: the benchmark says {verdict!r}, and a slower change is "
                        f"never kept. Log it without --keep; it will be reverted.")
    return False


def _complete(ctx: CampaignContext, state: machine.State) -> dict[str, Any]:
    """An interrupted LOG: finish its commit or revert, taking no new input."""
    it = state.current
    state = ctx.complete_pending(state)
    return {"ok": True, "step": "log", "iteration": it.n, "completed": True, "kept": it.kept,
            "message": f"completed the interrupted {'commit' if it.kept else 'revert'} of iteration {it.n}",
            "next": ctx.next_step(state)}


def log(ctx: CampaignContext, surprise: str | None = None, notes: str | None = None, why: str | None = None,
        lesson: str | None = None, keep: str | None = None, accept_memory: str | None = None,
        memory_limit: float | None = None) -> dict[str, Any]:
    with ctx.locked(guard_git=True):
        state = ctx.state()
        if state.step in (Step.COMMIT, Step.REVERT):
            return _complete(ctx, state)
        machine.check_command("log", state, ctx.cli_extra)
        if surprise is None or not str(surprise).strip():
            raise RuleError(
                "--surprise is required and may not be empty: write what surprised you about this result "
                "(prediction vs reality), or the literal word None if nothing did - but think first."
            )
        it = state.current
        postmortem = _postmortem(state, it, why, lesson)
        keep_reason = keep.strip() if keep and keep.strip() else None
        kept = _kept(state, it, keep_reason)
        test, bench = it.test or record.Test(), it.benchmark or record.Benchmark()
        memory, memory_refused = memory_check(ctx, bench, memory_limit, accept_memory, kept)
        kept = kept and memory_refused is None
        ctx.require_branch(state)
        require_tested_tree(ctx.repo, it.implement, ctx.record_rel, "commit" if kept else "revert")
        data = {"surprise": str(surprise).strip(), "notes": (notes or "").strip() or None,
                "postmortem": postmortem, "kept": kept, "keep_reason": keep_reason if kept else None,
                "memory": memory}
        ctx.record_event("log", data, it.n)
        state = ctx.complete_pending(ctx.state())
        current = state.current
        return {"ok": True, "step": "log", "iteration": it.n, "kept": kept, "verdict": bench.verdict,
                "refused": memory_refused or (refusal(bench, test) if test.passed else None), "memory": memory,
                "commit": current.commit.commit if current.commit else None, "revert": current.revert,
                "next": ctx.next_step(state)}


def fixes_the_full_case(state: machine.State, it: machine.Iteration) -> bool:
    """A change that passed TEST on the full case while FINISH's full-case check stands failed. Pure."""
    if not (state.full_case_failed and it.test and it.test.passed):
        return False
    return state.validation.case in (it.test.cases or [])


def memory_check(ctx: CampaignContext, bench: dict[str, Any], limit: float | None,
                 accept: str | None, kept: bool) -> tuple[dict[str, Any] | None, str | None]:
    """(peak memory before and after, as LOG records it; why a change LOG would keep is refused: over the limit,
    not accepted). ``refused`` in the record makes the revert's reason ``memory``."""
    from campaign.measure import memory

    if limit is None:
        from campaign.measure.settings import SettingsError, load_settings

        try:
            limit = load_settings(ctx.workspace).memory_limit
        except SettingsError as exc:
            raise RuleError(f"measurement settings: {exc}") from None
    mem = memory.change(bench, limit)
    if mem is None:
        return None, None
    reason = accept.strip() if accept and accept.strip() else None
    mem["accepted"] = reason if mem["over_limit"] else None
    mem["refused"] = kept and mem["over_limit"] and reason is None
    if mem["refused"]:
        return mem, f"{memory.over_limit_text(mem)}; such a change is kept only with --accept-memory REASON"
    return mem, None
