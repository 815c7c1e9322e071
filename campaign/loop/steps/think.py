"""THINK: the pre-registration, recorded before anything is changed or measured.

Records the bottleneck hypothesis, the options considered, the chosen
approach, the predicted speedup (a number) and the risk. Refuses an
iteration without a numeric prediction (``parse_speedup``) and any empty
hypothesis, option list, choice or risk.
"""

from __future__ import annotations

import math
from typing import Any

from campaign.errors import RuleError
from campaign.loop.step_fields import THINK, as_reason
from campaign.loop.steps.context import CampaignContext, required_text


def parse_speedup(value: Any) -> float:
    """A numeric prediction: 1.5, "1.5", "1.5x". Anything else is refused (no THINK without a number)."""
    if value is None or not str(value).strip():
        raise RuleError(
            "--predict is required: THINK pre-registers a numeric speedup (e.g. --predict 1.5 or --predict 1.5x) "
            "before the change is measured, so the result can be compared with it."
        )
    text = str(value).strip().lower().rstrip("x").strip()
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number <= 0:
        raise RuleError(
            f"the prediction {value!r} is not a number. THINK pre-registers a numeric speedup "
            f"(e.g. --predict 1.5 or --predict 1.5x: the whole run 1.5 times faster) so the result "
            f"can be compared with it; write your best estimate."
        )
    return number


def think(ctx: CampaignContext, hypothesis: str, options: list[str], chosen: str, predict: Any,
          risk: str) -> dict[str, Any]:
    with ctx.step("think") as state:
        predicted = parse_speedup(predict)
        hypothesis = required_text(hypothesis, "--hypothesis", as_reason(THINK["hypothesis"]))
        options = [o.strip() for o in options or [] if o and o.strip()]
        if not options:
            raise RuleError(f"at least one --option is required: {as_reason(THINK['options'])}")
        chosen = required_text(chosen, "--chosen", as_reason(THINK["chosen"]))
        risk = required_text(risk, "--risk", as_reason(THINK["risk"]))
        iteration = len(state.iterations) + 1
        data = {"hypothesis": hypothesis, "options": options, "chosen": chosen,
                "predicted_speedup": predicted, "risk": risk}
        ctx.record_event("think", data, iteration)
        return {"ok": True, "step": "think", "iteration": iteration, "predicted_speedup": predicted, "next": ctx.next_step()}
