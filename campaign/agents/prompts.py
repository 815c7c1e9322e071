"""Requests as prompts, and answers out of prose: the two halves of talking to a coding CLI.

A coding CLI (Claude Code, Codex CLI, aider, ...) takes a prompt in natural
language and prints text, so the JSON request of the agent protocol is
rendered as a prompt (one Jinja2 template per step under
``templates/prompts/``: the step, the rules, the profile and history, and the
exact answer format), and the answer is read back from whatever the model
printed: the last JSON object in the text that matches the step's schema,
fenced or bare. When none does, the error says what was found, what was
wrong with it and what form is wanted; it goes back into the next prompt.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from campaign.agents.protocol import ANSWER_SCHEMAS, validate_answer
from campaign.loop.step_fields import OPTION_PLACEHOLDERS, PLAN, THINK

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

EXAMPLES: dict[str, dict[str, Any]] = {
    "think": {
        "action": "optimize",
        "title": "<short name of the change>",
        "hypothesis": THINK["hypothesis"].placeholder,
        "options": list(OPTION_PLACEHOLDERS),
        "chosen": THINK["chosen"].placeholder,
        "predicted_speedup": 1.5,
        "risk": THINK["risk"].placeholder,
        "phase": "<a profiled phase>",
        "change": "<one line: what you will change>",
        "bottleneck": PLAN["bottleneck"].placeholder,
        "override_amdahl": None,
    },
    "implement": {"summary": "<what you changed, in one or two sentences>", "files": ["<relative path you edited>"]},
    "log": {"surprise": "<how the result differed from the prediction, and why; or None: ...>", "notes": None,
            "postmortem": None, "keep_reason": None},
}

TITLES = {"think": "decide and pre-register the next optimization", "implement": "make the planned change",
          "log": "log the result against your prediction"}

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[^\n]*\n(.*?)```", re.DOTALL)

_ENV = None


def _env():
    global _ENV
    if _ENV is None:
        import jinja2

        from campaign.measure.stats import describe_interval

        _ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), undefined=jinja2.ChainableUndefined,
                                  keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
        # the decisive interval with its own level (a range is called a range), as every other output names it
        _ENV.filters["interval"] = lambda ci, level=None, kind=None: describe_interval(
            list(ci) if ci else None, level or None, kind or None)
    return _ENV


def render_prompt(request: dict[str, Any]) -> str:
    """The prompt for ``request`` (the protocol's JSON request), from ``prompts/<step>.md.j2`` (pure)."""
    step = request["step"]
    context = {
        "campaign": {}, "profile": None, "history": [], "scope": [], "workspace": ".", "plan": {}, "result": {}, "cli": "campaign",
        **request,
        "title": TITLES.get(step, step),
        "example": json.dumps(EXAMPLES[step], indent=2),
        "schema": json.dumps(ANSWER_SCHEMAS[step]),
    }
    text = _env().get_template(f"prompts/{step}.md.j2").render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def json_candidates(text: str) -> list[tuple[Any, str | None]]:
    """Every JSON value the text holds, in order: (value, None), or (None, decode error) for a broken json fence.

    Fenced blocks count first-class (a ```json fence that does not parse is
    reported); outside fences, every top-level ``{...}`` that parses counts.
    """
    found: list[tuple[int, Any, str | None]] = []
    covered: list[tuple[int, int]] = []
    for match in _FENCE.finditer(text):
        lang, body = match.group(1).lower(), match.group(2).strip()
        covered.append(match.span())
        if lang not in ("", "json", "jsonc", "javascript", "js") or not body.startswith(("{", "[")):
            continue
        try:
            found.append((match.start(), json.loads(body), None))
        except json.JSONDecodeError as exc:
            found.append((match.start(), None, f"the ```json block at line {text.count(chr(10), 0, match.start()) + 1} "
                                                f"is not valid JSON ({exc})"))
    decoder = json.JSONDecoder()
    pos = 0
    while (pos := text.find("{", pos)) != -1:
        inside = next((end for start, end in covered if start <= pos < end), None)
        if inside is not None:
            pos = inside
            continue
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            pos += 1
            continue
        found.append((pos, value, None))
        pos = end
    return [(value, error) for _, value, error in sorted(found, key=lambda item: item[0])]


def wanted_form(step: str) -> str:
    keys = ", ".join(sorted(ANSWER_SCHEMAS[step].get("required") or
                            ANSWER_SCHEMAS[step]["oneOf"][0]["required"]))
    return (f"end your reply with one fenced ```json block holding a single JSON object for the {step} step "
            f"(required keys: {keys}; see the schema in the prompt)")


def extract_answer(step: str, text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The last JSON object in ``text`` that is a valid ``step`` answer, else (None, a precise error) (pure)."""
    candidates = json_candidates(text or "")
    for value, _ in reversed(candidates):
        if isinstance(value, dict) and validate_answer(step, value) is None:
            return value, None
    if not (text or "").strip():
        return None, f"the reply was empty: {wanted_form(step)}."
    if not candidates:
        return None, f"the reply holds no JSON object: {wanted_form(step)}."
    value, decode_error = candidates[-1]
    if decode_error:
        return None, f"{decode_error}: {wanted_form(step)}."
    if not isinstance(value, dict):
        return None, f"the last JSON value in the reply is a {type(value).__name__}, not an object: {wanted_form(step)}."
    return None, (f"the last JSON object in the reply is not a valid {step} answer: {validate_answer(step, value)}; "
                  f"{wanted_form(step)}.")
