"""What an agent exchange cost, read from what the CLI itself reports (pure; no guessing).

A ``usage`` object goes on the journal's ``agent`` event when the agent
reported its spend, and is ``None`` when it did not (aider, prompt-taking
CLIs, the playbook): a price is never estimated from a model's list price.
Its fields, each ``None`` when not reported:

``input_tokens``         every input token the model processed, cached or not;
``cached_input_tokens``  the part of those served from the prompt cache;
``output_tokens``        tokens the model wrote;
``cost_usd``             what the CLI says the exchange cost, in US dollars;
``source``               who reported it: ``claude``, ``codex``, ``command``.

Claude Code (``claude -p --output-format json``) prints one result object
with ``total_cost_usd`` and ``usage`` (``input_tokens`` uncached,
``cache_creation_input_tokens``, ``cache_read_input_tokens``,
``output_tokens``): the input here is their sum. Codex (``codex exec
--json``) prints JSON lines, a ``turn.completed`` event per turn with
``usage`` (``input_tokens`` including ``cached_input_tokens``,
``output_tokens``) and no price. A ``command`` agent may write the same
object (these field names) to the file named in ``$CAMPAIGN_USAGE``.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable

FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "cost_usd")


def _count(value: Any) -> int | None:
    """A token count as reported: a non-negative integer, else None (never a made-up 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _money(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _usage(source: str, input_tokens=None, cached_input_tokens=None, output_tokens=None,
           cost_usd=None) -> dict[str, Any] | None:
    usage = {"input_tokens": input_tokens, "cached_input_tokens": cached_input_tokens,
             "output_tokens": output_tokens, "cost_usd": cost_usd}
    if all(v is None for v in usage.values()):
        return None
    return {**usage, "source": source}


def _sum_counts(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def from_claude_result(result: Any) -> dict[str, Any] | None:
    """The usage in Claude Code's JSON result object (``--output-format json``), or None."""
    if not isinstance(result, dict):
        return None
    raw = result.get("usage") if isinstance(result.get("usage"), dict) else {}
    uncached = _count(raw.get("input_tokens"))
    created = _count(raw.get("cache_creation_input_tokens"))
    read = _count(raw.get("cache_read_input_tokens"))
    return _usage("claude", input_tokens=_sum_counts(uncached, created, read), cached_input_tokens=read,
                  output_tokens=_count(raw.get("output_tokens")), cost_usd=_money(result.get("total_cost_usd")))


def from_claude_stdout(stdout: str) -> dict[str, Any] | None:
    """The usage in ``claude -p --output-format json``'s output (its last line is the result)."""
    lines = stdout.strip().splitlines()
    try:
        return from_claude_result(json.loads(lines[-1])) if lines else None
    except json.JSONDecodeError:
        return None


def codex_events(stdout: str) -> list[dict[str, Any]]:
    """The JSON objects of ``codex exec --json``'s output, one a line (other lines skipped)."""
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def from_codex_stdout(stdout: str) -> dict[str, Any] | None:
    """The usage summed over the ``turn.completed`` events of ``codex exec --json``, or None."""
    turns = [e["usage"] for e in codex_events(stdout) if e.get("type") == "turn.completed" and isinstance(e.get("usage"), dict)]
    if not turns:
        return None
    return _usage("codex", input_tokens=_sum_counts(*(_count(t.get("input_tokens")) for t in turns)),
                  cached_input_tokens=_sum_counts(*(_count(t.get("cached_input_tokens")) for t in turns)),
                  output_tokens=_sum_counts(*(_count(t.get("output_tokens")) for t in turns)))


def codex_last_message(stdout: str) -> str | None:
    """The last agent message in ``codex exec --json``'s events (when ``-o`` wrote no file)."""
    texts = [e["item"].get("text") for e in codex_events(stdout)
             if e.get("type") == "item.completed" and isinstance(e.get("item"), dict)
             and e["item"].get("type") in ("agent_message", "assistant_message")]
    texts = [t for t in texts if isinstance(t, str)]
    return texts[-1] if texts else None


def from_command_file(text: str) -> dict[str, Any] | None:
    """The usage a ``command`` agent wrote to ``$CAMPAIGN_USAGE`` (the fields above), or None."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    return _usage("command", input_tokens=_count(raw.get("input_tokens")),
                  cached_input_tokens=_count(raw.get("cached_input_tokens")),
                  output_tokens=_count(raw.get("output_tokens")), cost_usd=_money(raw.get("cost_usd")))


def for_cli(kind: str, stdout: str) -> dict[str, Any] | None:
    """The usage a coding CLI reported on stdout; None for the CLIs that report none (aider, prompt)."""
    if kind == "claude":
        return from_claude_stdout(stdout)
    if kind == "codex":
        return from_codex_stdout(stdout)
    return None


def combine(usages: Iterable[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One exchange's retries summed into one usage (None when none reported anything)."""
    reported = [u for u in usages if u]
    if not reported:
        return None
    if len(reported) == 1:
        return reported[0]
    summed: dict[str, Any] = {}
    for key in FIELDS:
        known = [u.get(key) for u in reported if u.get(key) is not None]
        summed[key] = (round(sum(known), 6) if key == "cost_usd" else sum(known)) if known else None
    summed["source"] = reported[-1].get("source")
    return summed
