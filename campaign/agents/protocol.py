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

Two agents are built in: ``CommandAgent`` (any external program, e.g. an LLM
coding CLI) and ``PlaybookAgent`` (a target's catalogue, applied in order;
deterministic, no model).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
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


@dataclass
class CommandAgent:
    """Runs an external program per step.

    The command gets the request on stdin and, for programs that prefer files,
    its path in ``$CAMPAIGN_REQUEST``; it answers on stdout or by writing the
    file named in ``$CAMPAIGN_ANSWER``. ``{request}`` and ``{answer}`` in the
    command line are replaced by those paths. It runs in the workspace, with
    a timeout; its stderr is kept in the record. A program that knows what
    the exchange cost may write it (``campaign.agents.usage``) to the file
    named in ``$CAMPAIGN_USAGE``.
    """

    command: str
    workspace: Path
    timeout_s: float = 600.0
    name: str = "command"

    def answer(self, request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        import tempfile

        from campaign.agents.usage import from_command_file
        from campaign.measure.procs import run_process

        with tempfile.TemporaryDirectory(prefix="campaign-agent-") as tmp:
            req_path = Path(tmp) / "request.json"
            ans_path = Path(tmp) / "answer.json"
            usage_path = Path(tmp) / "usage.json"
            payload = json.dumps(request, indent=2, sort_keys=True, default=str)
            req_path.write_text(payload)
            cmd = self.command.replace("{request}", str(req_path)).replace("{answer}", str(ans_path))
            # only the additions: run_process puts them over an environment whose PATH starts with the
            # framework's interpreter (a copy of os.environ here would put the user's `python` first again)
            env = {"CAMPAIGN_REQUEST": str(req_path), "CAMPAIGN_ANSWER": str(ans_path), "CAMPAIGN_STEP": request["step"],
                   "CAMPAIGN_USAGE": str(usage_path)}
            proc = run_process(cmd, cwd=self.workspace, timeout_s=self.timeout_s, env=env, stdin=payload,
                               parent_death=True)  # dies with a kill -9 of the run, not minutes later
            details = {"stderr": proc.stderr, "returncode": proc.returncode, "timed_out": proc.timed_out,
                       "usage": from_command_file(usage_path.read_text()) if usage_path.exists() else None}
            if proc.timed_out:
                raise AgentFailed(f"the agent command timed out after {self.timeout_s:g} s", [details])
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-3:]
                raise AgentFailed(f"the agent command exited with {proc.returncode}: {' | '.join(tail)}", [details])
            text = ans_path.read_text() if ans_path.exists() else proc.stdout.strip()
            return text, details


@dataclass
class PlaybookAgent:
    """Applies a target's playbook in order: deterministic, no model.

    THINK answers with the next untried entry's own hypothesis and
    prediction (or declares the bottleneck exhausted when none is left);
    IMPLEMENT applies it; LOG computes the Surprise from the measurement.
    """

    entries: list
    workspace: Path
    name: str = "playbook"
    _attempted: set[str] = field(default_factory=set)

    def next_entry(self, attempted: set[str]):
        for entry in self.entries:
            if entry.key not in attempted:
                return entry
        return None

    def think_parallel(self, request: dict[str, Any], attempted: set[str], wanted: int) -> dict[str, Any]:
        """THINK for ``--parallel``: the next ``wanted`` untried entries, those in flight left out."""
        busy = set((request.get("parallel") or {}).get("in_flight_keys") or [])
        override = ("the playbook's entries are tried in parallel, in catalogue order; measured anyway"
                    if "Amdahl" in (request.get("previous_error") or "") else None)
        entries: list[Any] = []
        for entry in self.entries:
            if entry.key not in attempted and entry.key not in busy and len(entries) < wanted:
                entries.append(entry)
        if not entries:
            return {"action": "exhausted", "why": "every entry of the playbook has been tried or is in flight"}
        first = entries[0]
        return {"action": "optimize", "key": first.key, "title": first.title, "hypothesis": first.hypothesis,
                "options": [e.title for e in entries], "chosen": first.chosen,
                "predicted_speedup": float(first.predicted_speedup), "risk": first.risk, "phase": first.phase,
                "change": first.title, "bottleneck": first.bottleneck, "override_amdahl": override,
                "attempts": [_playbook_plan(e, override) for e in entries]}

    def answer(self, request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        step = request["step"]
        attempted = {h.get("key") for h in request.get("history", []) if h.get("key")}
        if step == "think":
            wanted = (request.get("parallel") or {}).get("options_wanted")
            if wanted:
                return self.think_parallel(request, attempted, int(wanted)), {}
            entry = self.next_entry(attempted)
            if entry is None:
                return {"action": "exhausted", "why": "every entry of the playbook has been tried"}, {}
            return {
                "action": "optimize",
                "key": entry.key,
                "title": entry.title,
                "hypothesis": entry.hypothesis,
                "options": list(entry.options),
                "chosen": entry.chosen,
                "predicted_speedup": float(entry.predicted_speedup),
                "risk": entry.risk,
                "phase": entry.phase,
                "change": entry.title,
                "bottleneck": entry.bottleneck,
                # the catalogue's order is the plan: a phase the profile now shows as small is tried anyway, logged
                "override_amdahl": f"playbook entry {entry.key} is next in the catalogue; measured anyway"
                if "Amdahl" in (request.get("previous_error") or "") else None,
            }, {}
        if step == "implement":
            key = request["plan"]["key"]
            entry = next(e for e in self.entries if e.key == key)
            entry.apply(self.workspace)
            return {"summary": f"applied playbook entry {entry.key}: {entry.title}"}, {}
        if step == "log":
            return playbook_log_answer(request["result"]), {}
        raise AgentFailed(f"the playbook agent cannot answer step {step!r}", [])


def _playbook_plan(entry, override: str | None) -> dict[str, Any]:
    return {"key": entry.key, "title": entry.title, "chosen": entry.chosen, "hypothesis": entry.hypothesis,
            "predicted_speedup": float(entry.predicted_speedup), "risk": entry.risk, "phase": entry.phase,
            "change": entry.title, "bottleneck": entry.bottleneck, "override_amdahl": override}


def playbook_log_answer(result: dict[str, Any]) -> dict[str, Any]:
    """The Surprise and postmortem the playbook agent writes, from the measured result (pure).

    ``result``: predicted (float), test_passed (bool), first_failure (str|None),
    failures, test_command_failed (bool), verdict, speedup, ci [lo, hi],
    postmortem_required (bool).
    """
    predicted = float(result["predicted"])
    if not result["test_passed"] and result.get("test_command_failed") and not result.get("failures"):
        failure = result.get("first_failure") or "the target's test command failed"
        return {  # the outputs matched: the target's own test command failed, perhaps for a reason outside the change
            "surprise": f"Predicted {predicted:.2f}x, but TEST failed: {failure}. The outputs matched the baseline's; "
                        f"the target's own test command did not pass, so the speed does not count.",
            "notes": "Reverted by the framework; the diff is kept in patches/.",
            "postmortem": {
                "why": f"The target's test command failed: {failure}",
                "lesson": "The test command is part of TEST: a change that breaks it (or an environment that cannot "
                          "run it) is not kept, whatever its outputs.",
            }
            if result.get("postmortem_required")
            else None,
            "keep_reason": None,
        }
    if not result["test_passed"]:
        failure = result.get("first_failure") or "the outputs differ from the baseline's"
        return {
            "surprise": f"Predicted {predicted:.2f}x, but TEST failed: {failure}. The change is not exact, so its speed does not count.",
            "notes": "Reverted by the framework; the diff is kept in patches/.",
            "postmortem": {
                "why": f"The optimization changed the results: {failure}",
                "lesson": "An optimization that changes the answer is a different algorithm; it needs its own contract, not a speedup claim.",
            }
            if result.get("postmortem_required")
            else None,
            "keep_reason": None,
        }
    speedup = float(result["speedup"])
    lo, hi = result["ci"]
    ratio = speedup / predicted
    verdict = result["verdict"]
    from campaign.measure.stats import describe_interval

    measured = f"measured {speedup:.2f}x ({describe_interval((lo, hi), result.get('ci_level'), result.get('ci_kind'))}, verdict {verdict})"
    if 1 / 1.1 <= ratio <= 1.1:
        surprise = f"None - predicted {predicted:.2f}x, {measured}: within 10% of the prediction."
    else:
        direction = "more" if ratio > 1 else "less"
        surprise = f"Predicted {predicted:.2f}x, {measured}: {abs(ratio - 1) * 100:.0f}% {direction} than predicted."
    phases = {k: v for k, v in (result.get("phases") or {}).items() if isinstance(v, (int, float))}
    by_phase = ", ".join(f"{name} {value:.2f}x" for name, value in sorted(phases.items(), key=lambda kv: -kv[1]))
    slower = [name for name, value in phases.items() if value < 1]
    notes = (f"Per-phase speedups (each phase's time before / after): {by_phase}."
             + (f" Below 1 the phase got slower: {', '.join(slower)}." if slower else "")) if by_phase else None
    postmortem = None
    if result.get("postmortem_required"):
        where = f" Measured per phase: {by_phase}." if by_phase else ""
        postmortem = {
            "why": f"The catalogue's {predicted:.2f}x was reasoned from the cost model before anything was measured; "
            f"the run measured {speedup:.2f}x.{where} The model mis-sized the share of the work this change "
            f"removes on this case.",
            "lesson": "The fast case rewards different things than the model assumed: re-profile and size the "
            "next prediction from the measured phase shares, not from the catalogue."
            if ratio < 1
            else "The bottleneck was larger than modelled; later entries act on a smaller remaining share.",
        }
    return {"surprise": surprise, "notes": notes, "postmortem": postmortem, "keep_reason": None,
            "accept_memory": playbook_memory_accept(result.get("memory"))}


def playbook_memory_accept(memory: dict[str, Any] | None) -> str | None:
    """The script's accept of a memory cost beyond the limit, saying it is a script's (pure).

    The playbook weighs nothing: it keeps every faster catalogue entry (the
    demo's numba kernel takes peak RSS from 35.5 MiB to 158 MiB). It accepts in
    words a reviewer cannot mistake for judgement; the record and the report
    show the cost and the accept.
    """
    if not memory or not memory.get("over_limit"):
        return None
    return (f"accepted by the scripted playbook, which keeps every faster catalogue entry and weighs no memory "
            f"cost ({memory.get('text') or 'peak memory beyond the limit'}): a reviewer must judge it")
