"""JSON Schemas of the journal's events: what a reader may rely on.

Every event read from ``journal.jsonl`` is checked against the envelope
schema and the schema of its ``type`` (``validate_event``), so the pure
readers downstream (the state machine, stopping rules, rendering, the
session's steps) never meet a string where a number belongs: a hand-edited
or foreign journal is refused with one message that names the line and the
field, instead of a traceback somewhere later.

The schemas fix *types*, not presence: keys may be missing (readers use
``.get``) and extra keys are allowed (a newer minor writer, diagnostics).
``null`` is allowed wherever the event model (``campaign.loop.events``) says
"or null" or a reader tolerates it.
"""

from __future__ import annotations

from typing import Any

from campaign.loop.events import EVENT_TYPES

NUM = {"type": ["number", "null"]}
INT = {"type": ["integer", "null"]}
STR = {"type": ["string", "null"]}
BOOL = {"type": ["boolean", "null"]}
OBJ = {"type": ["object", "null"]}
STRS = {"type": ["array", "null"], "items": {"type": "string"}}
NUM_MAP = {"type": ["object", "null"], "additionalProperties": NUM}
# a confidence interval: [lo, hi] (either may be null when unknown), or empty/null for "no CI"
CI = {"type": ["array", "null"], "items": NUM, "anyOf": [{"maxItems": 0}, {"minItems": 2, "maxItems": 2}],
      "description": "a confidence interval [lo, hi] (or empty)"}


def _obj(**properties: Any) -> dict[str, Any]:
    return {"type": ["object", "null"], "properties": properties}


TIMINGS = _obj(warm_s=NUM, first_call_s=NUM, compile_s=NUM, warm_min_s=NUM, phases=NUM_MAP, max_rss_kb=NUM)
SPEEDUP = _obj(speedup=NUM, ci=CI, verdict=STR)
FULL = _obj(case=STR, speedup=NUM, ci=CI, verdict=STR, vs_baseline=SPEEDUP, candidate=TIMINGS, blocks=INT, metric=STR,
            measured_at_iteration=INT)
FAILURE = {"type": "object", "properties": {"output": STR, "message": STR, "case": STR}}

DATA_SCHEMAS: dict[str, dict[str, Any]] = {
    "init": _obj(name=STR, target_spec=STR, target={"type": ["object", "string", "null"]}, goal_speedup=NUM,
                 max_iterations=INT, min_gain=NUM, postmortem_factor=NUM, start_branch=STR, branch=STR,
                 pre_tag=STR, base_commit=STR, workspace=STR, warnings=STRS, environment=OBJ, harness=OBJ),
    "baseline": _obj(commit=STR, dirty=BOOL, case=STR, cases=OBJ, outputs=OBJ, phases=NUM_MAP, warm_s=NUM,
                     first_call_s=NUM, compile_s=NUM, environment=OBJ, snapshot=STR),
    "profile": _obj(commit=STR, case=STR, phases=NUM_MAP, shares=NUM_MAP, amdahl=NUM_MAP, total_s=NUM,
                    top_functions={"type": ["array", "null"], "items": {"type": "object"}}, lines=OBJ,
                    notes=STRS),
    "think": _obj(hypothesis=STR, options=STRS, chosen=STR, predicted_speedup=NUM, risk=STR),
    "plan": _obj(phase=STR, change=STR, bottleneck=STR, phase_share=NUM, amdahl_bound=NUM, override=STR,
                 warnings=STRS),
    "implement": _obj(files=STRS, tree=STR, patch=STR, patch_sha256=STR, out_of_scope=STRS, agent=STR),
    "test": _obj(passed=BOOL, failures={"type": ["array", "null"], "items": FAILURE},
                 test_command=_obj(cmd=STR, rc=INT, passed=BOOL, tail=STR, stderr=STR,
                                  failed_tests={"type": ["array", "null"], "items": {"type": "object"}}), out_of_scope=STRS, cases=STRS),
    "benchmark": _obj(case=STR, verdict=STR, speedup=NUM, ci=CI, vs_baseline=SPEEDUP, cumulative_speedup=NUM,
                      phases=NUM_MAP, candidate=TIMINGS, reference=TIMINGS, metric=STR, blocks=INT, samples=OBJ,
                      full=FULL, environment=OBJ, noise_floor=NUM, min_effect=NUM, notes=STRS),
    "log": _obj(surprise=STR, notes=STR, postmortem=_obj(why=STR, lesson=STR), kept=BOOL, keep_reason=STR,
                memory=_obj(before_kb=NUM, after_kb=NUM, ratio=NUM, limit=NUM, over_limit=BOOL, accepted=STR, refused=BOOL)),
    "commit": _obj(commit=STR, message=STR, patch=STR),
    "revert": _obj(to_commit=STR, reason=STR, patch=STR),
    "decide": _obj(stop=BOOL, rule=STR, reason=STR, exhausted=BOOL, phase=STR, why=STR, cumulative_speedup=NUM),
    "skip": _obj(bottleneck=STR, why=STR, failed_attempts=INT),
    "tune": _obj(knobs=OBJ, report=OBJ),
    "agent": _obj(step=STR, request=STR, prompt=STR, answer=STR, reply=STR, attempts=INT, error=STR, stderr=STR,
                  errors={"type": ["array", "null"]},
                  usage=_obj(input_tokens=INT, cached_input_tokens=INT, output_tokens=INT, cost_usd=NUM, source=STR)),
    "finish": _obj(post_tag=STR, merged_into=STR, final_speedup=NUM, ci=CI, full=FULL, dominant_phase=STR),
}

ENVELOPE = {
    "type": "object",
    "required": ["schema", "seq", "type", "data"],
    "properties": {
        "schema": {"type": "integer"},
        "seq": {"type": "integer"},
        "ts": {"type": "string"},
        "type": {"enum": list(EVENT_TYPES)},
        "iteration": {"type": ["integer", "null"], "minimum": 1},
        "data": {"type": "object"},
        "writer": {"type": "object"},  # who wrote it (campaign.loop.driver.current_writer); absent in older journals
    },
}

_validators: dict[str, Any] = {}


def _validator(key: str):
    if key not in _validators:
        from jsonschema import Draft202012Validator

        schema = ENVELOPE if key == "" else {**DATA_SCHEMAS[key], "type": "object"}
        _validators[key] = Draft202012Validator(schema)
    return _validators[key]


def _message(error) -> str:
    """jsonschema's message, or the schema's own description where the message is generic (anyOf)."""
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator == "anyOf" and description:
        return f"{error.instance!r} is not {description}"
    return error.message


def _where(path) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(the event)"


def event_problem(event: dict[str, Any]) -> str | None:
    """What is wrong with ``event``'s types, as one phrase naming the field; None when it is valid. Pure."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator("").iter_errors(event))
    if error is not None:
        return f"{_where(error.absolute_path)}: {_message(error)}"
    if event["type"] not in DATA_SCHEMAS:
        return None
    error = best_match(_validator(event["type"]).iter_errors(event["data"]))
    if error is not None:
        return f"data.{_where(error.absolute_path)}: {_message(error)}"
    return speedup_problem(event["data"])


SPEEDUP_KEYS = ("speedup", "cumulative_speedup", "final_speedup", "predicted_speedup")


def speedup_problem(data: Any, where: str = "data") -> str | None:
    """A speedup that is not a positive finite number, or an interval whose ends are inverted (pure).

    JSON Schema cannot say it (NaN compares false with every bound); the readers downstream divide by these
    and draw them on log axes.
    """
    import math

    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{where}.{key}"
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if key in SPEEDUP_KEYS and number and not (0 < value < math.inf):
                return f"{here}: {value!r} is not a speedup (a positive, finite number)"
            if key == "ci" and isinstance(value, list) and len(value) == 2 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                lo, hi = value
                if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                    return f"{here}: {value!r} is not an interval [lo, hi] of finite numbers with lo <= hi"
            problem = speedup_problem(value, here) if isinstance(value, dict) else None
            if problem:
                return problem
    return None
