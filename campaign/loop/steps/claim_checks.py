"""The claim's own evidence, once BENCHMARK has made it (``campaign try`` and ``campaign try --more``).

A claim is known only after BENCHMARK, so only then can campaign ask what it
needs: a claim above the Amdahl bound or ``SUSPICIOUS`` runs the held-out
inputs at the full size too (``campaign.measure.integrity.suspicion``), and a
held-out reading under the claim's transfer bar is looked at once more on fresh
seeds before LOG may refuse it (``campaign.measure.heldout.pooled``). One cold
call per seed and tree is all a held-out reading has, and beside six CPU burners
one such call read a genuine win at 1.14x; a hack reads about 1x on every seed,
so the second look costs it nothing and costs only attempts that were about to
be refused. Both run where the benchmark ran: the sealed copy of the tested tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from campaign.loop.steps.context import CampaignContext
from campaign.loop.steps.testing import heldout_campaign_check
from campaign.measure.heldout import FULL_SIZE_SEEDS, pooled, transfer_refusal
from campaign.measure.integrity import guards_ran, suspicion


def check_claim(ctx: CampaignContext, state: Any, test: dict[str, Any], bench: dict[str, Any], run_dir: Path,
                say: Callable[[str], None], earlier: dict[str, Any] | None = None) -> None:
    """Fill ``bench`` with its suspicion (and the full-size held-out check it asks for), a second held-out look
    where the first would refuse the claim, and the list of guards that ran.

    ``earlier``: this attempt's benchmark before ``try --more`` extended it; the held-out checks it ran stand
    (the tested tree is the same) and are not run again.
    """
    it, target, prior = state.current, ctx.target, earlier or {}
    last = state.last_kept_commit if state.kept_count else None  # held-out speed against the last kept change

    def heldout(case: str, n_seeds: int | None = None) -> dict[str, Any]:
        return ctx.measure(lambda: heldout_campaign_check(ctx, state.init["base_commit"], run_dir, case, last,
                                                          n_seeds))

    bench["suspicion"] = suspicion(bench, it.plan.amdahl_bound if it.plan else None)
    full_size = getattr(target, "heldout", False) and target.full_case != target.fast_case
    if bench["suspicion"] and full_size:
        say(f"BENCHMARK: a {bench['speedup']:.0f}x claim: held-out inputs at the full size "
            f"({target.full_case}) before it may be kept...")
        done = prior["suspicion"].get("heldout_full") if prior.get("suspicion") else None
        bench["suspicion"]["heldout_full"] = done or heldout(target.full_case, FULL_SIZE_SEEDS)
    held = prior.get("heldout_recheck") or test.get("heldout")
    if prior.get("heldout_recheck"):
        bench["heldout_recheck"] = held
    elif held and held.get("passed") and not held.get("rechecked") and transfer_refusal(held, bench):
        say(f"BENCHMARK: held-out {held['speedup']:.2f}x is under this claim's bar; fresh seeds once more "
            f"before it is refused...")
        bench["heldout_recheck"] = pooled(held, heldout(held["case"]))
    full = bench["suspicion"].get("heldout_full") if bench["suspicion"] else None
    if full and full.get("passed") and not full.get("rechecked") and transfer_refusal(full, bench):
        say(f"BENCHMARK: held-out {full['speedup']:.2f}x at the full size is under this claim's bar; fresh "
            f"seeds once more before it is refused...")
        bench["suspicion"]["heldout_full"] = pooled(full, heldout(target.full_case, FULL_SIZE_SEEDS))
    bench["guards"] = guards_ran(test, bench)
