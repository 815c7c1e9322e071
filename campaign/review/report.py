"""What a reviewer sees of a record, gathered: ``collect(record_dir)``.

``collect`` gathers everything from the record alone (findings, per-iteration
rows, calibration, code cost, profiles, rendered logs) into one JSON-able
dict; ``format_text`` (``report_text``, the terminal) and ``render_html``
(``report_html``, the page) only present it, and are re-exported here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from campaign.loop import usage as _usage
from campaign.loop.record import load_event
from campaign.review import calibration as _calibration
from campaign.review import codecost as _codecost
from campaign.review import headline as _headline
from campaign.review import lint as _review
from campaign.review import phase_changes as _phase_changes
from campaign.review import record_events as _events
from campaign.review import record_summary as _summary
from campaign.review.report_html import (  # noqa: F401 - the page's API, re-exported: campaign.review.report.render_html
    display_path, markdown_html, profile_text, render_html, scrub)
from campaign.review.report_text import format_text  # noqa: F401 - the terminal's, re-exported
from campaign.review.unrecorded import DESCRIPTION as UNRECORDED_DESCRIPTION
from campaign.review.unrecorded import RULE_ID as UNRECORDED_RULE
from campaign.review.unrecorded import unrecorded_commit_findings


def collect(record_dir: Path) -> dict[str, Any]:
    record = Path(record_dir)
    events = _events.load_record(record)
    findings = _review.check(events) + unrecorded_commit_findings(record, events)
    profiles = _events.of_type(events, "profile")
    try:
        cost = _codecost.code_cost(record, events)
    except (OSError, subprocess.SubprocessError) as exc:  # no git: the rest of the review still stands
        cost = [{"iteration": None, "error": f"code cost unavailable: {exc}"}]
    logs = _logs(record, events)
    return {
        "ok": not findings,
        "record": str(record),
        "summary": _summary.summary(events),
        "rules": [{"id": r.id, "description": r.description} for r in _review.RULES]
                 + [{"id": UNRECORDED_RULE, "description": UNRECORDED_DESCRIPTION}],
        "findings": [f.to_dict() for f in findings],
        "iterations": _summary.iteration_rows(events),
        "calibration": _calibration.calibration(events),
        "code_cost": cost,
        "profiles": {
            "first": load_event(profiles[0]).data.phases if profiles else None,
            "last": load_event(profiles[-1]).data.phases if len(profiles) > 1 else None,
        },
        "logs": logs,
        "attachments": attachments(record, events),
        "headline": _headline.headline(events),
        "agent_usage": _usage.summarize(events),
        "phase_changes": _phase_changes.phase_changes(events),
        "machine_roots": _machine_roots(events),
    }


PATCH_LIMIT = 200_000  # characters of one patch shown in the page; a larger one is cut, with a note


def attachments(record: Path, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per iteration: its patch (as recorded) and the profile it was planned from, as text for the page."""
    out = []
    for row in _summary.iteration_rows(events):
        n = row["iteration"]
        own = _events.iteration_events(events, n)
        name = _final_patch(own) or row.get("patch")
        text = None
        if name and (record / name).is_file():
            text = (record / name).read_text(encoding="utf-8", errors="replace")
            if len(text) > PATCH_LIMIT:
                text = text[:PATCH_LIMIT] + f"\n... (cut at {PATCH_LIMIT} characters; the whole patch is {name} in the record)\n"
        start = events.index(own[0]) if own else len(events)
        profile = next((e for e in reversed(events[:start + 1]) if e.get("type") == "profile"), None)
        out.append({"iteration": n, "patch": name, "patch_text": text,
                    "profile": profile_text(load_event(profile).data) if profile else None})
    return out


def _final_patch(own: list[dict[str, Any]]) -> str | None:
    """The patch an iteration ended with: its COMMIT's, else its REVERT's (None before either)."""
    for kind in ("commit", "revert"):
        event = _events.last_of(own, kind)
        patch = load_event(event).data.patch if event is not None else None
        if patch:
            return patch
    return None


def _machine_roots(events: list[dict[str, Any]]) -> list[str]:
    """The recording machine's workspace (cut from everything the page shows), when init names it."""
    init = _events.last_of(events, "init")
    workspace = load_event(init).data.workspace if init is not None else None
    return [workspace] if workspace else []


def _logs(record: Path, events: list[dict[str, Any]]) -> dict[str, str | None]:
    """The record's rendered logs; a missing one is rendered from the journal (campaign.loop.render)."""
    logs: dict[str, str | None] = {}
    rendered: dict[str, str] | None = None
    for key, name in (("optimization_log", "optimization_log.md"), ("thinking_log", "thinking_log.md")):
        path = record / name
        if path.is_file():
            logs[key] = path.read_text(encoding="utf-8", errors="replace")
            continue
        if rendered is None:
            try:
                from campaign.loop.render import render_all

                rendered = render_all(events)
            except Exception:  # a journal the renderer cannot show: say "not rendered" rather than fail the review
                rendered = {}
        logs[key] = rendered.get(name)
    return logs


# --------------------------------------------------------------------------- terminal
