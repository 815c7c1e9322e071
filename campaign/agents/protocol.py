"""The agent protocol: one JSON request in, one JSON answer out, per step.

``campaign run`` asks an agent for what only an agent can decide:

* ``think``: the pre-registration and the plan (hypothesis, options, chosen
  approach, numeric prediction, risk, phase, change) - or a declaration that
  the current bottleneck is exhausted;
* ``implement``: edit files inside the scope (the answer only summarises);
* ``log``: the Surprise (prediction vs reality) and, when one is due, the
  postmortem.

The request carries the step, the campaign state, the latest profile, the
history of predictions vs results, the editable paths, the answer's JSON
Schema and, on a retry, the previous validation error. Answers are validated
against that schema; an invalid answer goes back to the agent with the error,
up to ``MAX_ATTEMPTS`` times, then the step fails (``AgentFailed``) and the
controller logs the iteration as failed. An agent that crashes or hangs fails
the step at once (no blind retry). The controller may add its own rules
(``ask(check=...)``: the Amdahl rule at THINK, a due postmortem at LOG);
their errors go back to the agent like schema errors.

Two agents are built in: ``CommandAgent`` (``campaign.agents.command_agent``:
any external program, e.g. an LLM coding CLI) and ``PlaybookAgent``
(``campaign.agents.playbook_agent``: a target's catalogue, applied in order;
deterministic, no model).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Protocol

PROTOCOL_VERSION = 1
MAX_ATTEMPTS = 3

_TEXT = {"type": "string", "minLength": 1}
# one of the options a THINK answer plans to try at once (``campaign run --parallel K``); the answer's own
# hypothesis and risk apply where the option gives none
_ATTEMPT = {
    "type": "object",
    "properties": {"title": _TEXT, "chosen": _TEXT, "predicted_speedup": {"type": "number", "exclusiveMinimum": 0},
                   "phase": _TEXT, "change": _TEXT, "hypothesis": _TEXT, "risk": _TEXT, "key": {"type": "string"},
                   "bottleneck": {"type": "string"}, "override_amdahl": {"type": ["string", "null"]}},
    "required": ["title", "chosen", "predicted_speedup", "phase", "change"],
}

ANSWER_SCHEMAS: dict[str, dict[str, Any]] = {
    "think": {
        "type": "object",
        "oneOf": [
            {
                "properties": {
                    "action": {"const": "optimize"},
                    "title": _TEXT,
                    "hypothesis": _TEXT,
                    "options": {"type": "array", "items": _TEXT, "minItems": 1},
                    "chosen": _TEXT,
                    "predicted_speedup": {"type": "number", "exclusiveMinimum": 0},
                    "risk": _TEXT,
                    "phase": _TEXT,
                    "change": _TEXT,
                    "bottleneck": {"type": "string"},
                    "override_amdahl": {"type": ["string", "null"]},
                    "attempts": {"type": "array", "items": _ATTEMPT},  # `campaign run --parallel K`: K plans
                },
                "required": ["action", "title", "hypothesis", "options", "chosen", "predicted_speedup", "risk", "phase", "change"],
            },
            {
                "properties": {"action": {"const": "exhausted"}, "why": _TEXT},
                "required": ["action", "why"],
            },
        ],
    },
    "implement": {
        "type": "object",
        "properties": {"summary": _TEXT, "files": {"type": "array", "items": {"type": "string"}}},
        "required": ["summary"],
    },
    "log": {
        "type": "object",
        "properties": {
            "surprise": {"type": "string", "pattern": r"\S"},
            "notes": {"type": ["string", "null"]},
            "postmortem": {
                "type": ["object", "null"],
                "properties": {"why": _TEXT, "lesson": _TEXT},
                "required": ["why", "lesson"],
            },
            "keep_reason": {"type": ["string", "null"]},
            "accept_memory": {"type": ["string", "null"]},  # keep a change beyond the memory limit, and why
        },
        "required": ["surprise"],
    },
}


class AgentFailed(Exception):
    """The agent gave no valid answer within the retry limit (or crashed / hung)."""

    def __init__(self, message: str, attempts: list[dict[str, Any]]):
        super().__init__(message)
        self.attempts = attempts


def validate_answer(step: str, answer: Any) -> str | None:
    """Return None when ``answer`` satisfies the step's schema, else a readable error."""
    import jsonschema

    schema = ANSWER_SCHEMAS[step]
    if step == "think" and isinstance(answer, dict):  # validate against the branch the answer chose: clearer errors
        schema = schema["oneOf"][1] if answer.get("action") == "exhausted" else schema["oneOf"][0]
        schema = {"type": "object", **schema}
    try:
        jsonschema.validate(answer, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        return f"{where}: {exc.message}"
    if step == "think" and answer.get("action") == "optimize":
        if not math.isfinite(float(answer["predicted_speedup"])):
            return "predicted_speedup: must be a finite number"
    return None


def build_request(step: str, context: dict[str, Any], previous_error: str | None = None) -> dict[str, Any]:
    """The request document sent to an agent (pure)."""
    return {
        "protocol": PROTOCOL_VERSION,
        "step": step,
        **context,
        "answer_schema": ANSWER_SCHEMAS[step],
        "previous_error": previous_error,
    }


class Agent(Protocol):
    name: str

    def answer(self, request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Return (parsed answer or raw text, exchange details: stderr, returncode, ...).

        Raw text is read by the agent's ``parse(step, text) -> (answer, error)``
        when it has one (the coding-CLI adapters: prose with a JSON block),
        else as strict JSON (``parse_json_answer``).
        """


def _next_exchange_number(exchange_dir: Path, iteration: int, step: str) -> int:
    """The first unused exchange number for this iteration and step.

    A resumed run asks the same step of the same iteration again: its files go beside the
    earlier ones (``-2``, ``-3``...), never over them, so the journal's pointers stay true.
    """
    prefix = f"iter-{iteration:02d}-{step}-"
    used = [int(tail) for path in exchange_dir.glob(f"{prefix}*.request.json")
            if (tail := path.name[len(prefix):-len(".request.json")]).isdigit()]
    return max(used, default=0) + 1


def ask(agent: Agent, step: str, context: dict[str, Any], exchange_dir: Path, iteration: int,
        check: Callable[[dict[str, Any]], str | None] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ask ``agent`` for ``step``, validating and retrying; keep every exchange on disk.

    ``check`` (optional) applies the campaign's rules to a schema-valid answer
    (e.g. the Amdahl rule on the planned phase): its error goes back to the
    agent like a schema error.

    Returns (valid answer, the ``agent`` event data). Raises ``AgentFailed``
    (with the event data in ``attempts``) after ``MAX_ATTEMPTS`` invalid answers.
    """
    exchange_dir.mkdir(parents=True, exist_ok=True)
    error: str | None = None
    attempts: list[dict[str, Any]] = []
    usages: list[dict[str, Any] | None] = []  # what each try cost, where the agent reported it
    first = _next_exchange_number(exchange_dir, iteration, step)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        request = build_request(step, context, error)
        stem = f"iter-{iteration:02d}-{step}-{first + attempt - 1}"
        (exchange_dir / f"{stem}.request.json").write_text(json.dumps(request, indent=2, sort_keys=True, default=str))
        prompt_for = getattr(agent, "prompt_for", None)  # a coding CLI's prompt is kept even when the CLI fails
        if prompt_for is not None:
            (exchange_dir / f"{stem}.prompt.md").write_text(prompt_for(request))
        try:
            answer, details = agent.answer(request)
        except AgentFailed as exc:  # crashed or hung: no point retrying the same thing blindly
            error = str(exc)
            attempts.append({"attempt": attempt, "error": error})
            usages += [d.get("usage") for d in exc.attempts if isinstance(d, dict)]
            exchange_dir.mkdir(parents=True, exist_ok=True)
            for key, suffix in (("stderr", "stderr.txt"), ("stdout", "reply.txt")):
                text = next((d.get(key) for d in exc.attempts if isinstance(d, dict) and d.get(key)), None)
                if text:
                    (exchange_dir / f"{stem}.{suffix}").write_text(text)
            event = _event(agent, step, exchange_dir, stem, attempts, error, usages)
            raise AgentFailed(f"agent {agent.name!r} failed at {step}: {error}", [event]) from None
        usages.append(details.get("usage"))
        exchange_dir.mkdir(parents=True, exist_ok=True)  # the agent may have removed it (the journal guard says so)
        if details.get("stderr"):
            (exchange_dir / f"{stem}.stderr.txt").write_text(details["stderr"])
        if details.get("prompt"):
            (exchange_dir / f"{stem}.prompt.md").write_text(details["prompt"])
        if isinstance(answer, str):  # text: the agent's own parser (prose for a coding CLI), else strict JSON
            (exchange_dir / f"{stem}.reply.txt").write_text(answer)
            answer, error = getattr(agent, "parse", parse_json_answer)(step, answer)
            if error is not None:
                attempts.append({"attempt": attempt, "error": error})
                continue
        (exchange_dir / f"{stem}.answer.json").write_text(json.dumps(answer, indent=2, sort_keys=True))
        error = validate_answer(step, answer)
        if error is None and check is not None:
            error = check(answer)
        attempts.append({"attempt": attempt, "error": error})
        if error is None:
            return answer, _event(agent, step, exchange_dir, stem, attempts, None, usages)
    event = _event(agent, step, exchange_dir, stem, attempts, error, usages)
    raise AgentFailed(f"agent {agent.name!r} gave no valid {step} answer in {MAX_ATTEMPTS} attempts: {error}", [event])


def parse_json_answer(step: str, text: str) -> tuple[Any, str | None]:
    """The protocol's own form: the whole text is one JSON object. The error says what is wanted instead."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        shown = text.strip()[:80] or "(nothing)"
        return None, (f"the answer is not JSON ({exc}; it begins {shown!r}): print exactly one JSON object "
                      f"matching answer_schema for the {step} step on stdout (or write it to $CAMPAIGN_ANSWER), "
                      f"with no other text")


def _event(agent: Agent, step: str, exchange_dir: Path, stem: str, attempts: list, error: str | None,
           usages: list | None = None) -> dict[str, Any]:
    """The ``agent`` event: it names the exchange's files that exist (null for one the exchange never wrote)."""
    from campaign.agents.usage import combine

    rel = exchange_dir.name

    def kept(suffix: str) -> str | None:
        return f"{rel}/{stem}.{suffix}" if (exchange_dir / f"{stem}.{suffix}").exists() else None

    return {
        "agent": agent.name,
        "step": step,
        "request": f"{rel}/{stem}.request.json",
        "prompt": kept("prompt.md"),
        "answer": kept("answer.json"),
        "stderr": kept("stderr.txt"),
        "reply": kept("reply.txt"),
        "attempts": len(attempts),
        "errors": [a["error"] for a in attempts if a["error"]],
        "error": error,
        "usage": combine(usages or []),  # tokens and cost the agent reported over the tries; None: not reported
    }
