"""The reviewer's views of a record: the terminal table and the HTML report.

``collect(record_dir)`` gathers everything from the record alone (findings,
per-iteration rows, calibration, code cost, profiles, rendered logs) into one
JSON-able dict; ``format_text`` and ``render_html`` only present it.

The plots are inline SVG (``plots.py``); the logs are Markdown rendered by
markdown-it-py with raw HTML off, so anything a record holds stays text.
"""

from __future__ import annotations

import subprocess
import re
from pathlib import Path
from typing import Any

from campaign.review import calibration as _calibration
from campaign.review import codecost as _codecost
from campaign.loop import usage as _usage
from campaign.review import headline as _headline
from campaign.review import phase_changes as _phase_changes
from campaign.review import lint as _review
from campaign.review import record_events as _events
from campaign.review import record_summary as _summary
from campaign.review import plots as _plots
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
            "first": _events.data_of(profiles[0]).get("phases") if profiles else None,
            "last": _events.data_of(profiles[-1]).get("phases") if len(profiles) > 1 else None,
        },
        "logs": logs,
        "attachments": attachments(record, events),
        "headline": _headline.headline(events),
        "agent_usage": _usage.summarize(events),
        "phase_changes": _phase_changes.phase_changes(events),
        "machine_roots": [w for w in [_events.data_of(_events.last_of(events, "init")).get("workspace")] if w],
    }


PATCH_LIMIT = 200_000  # characters of one patch shown in the page; a larger one is cut, with a note


def attachments(record: Path, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per iteration: its patch (as recorded) and the profile it was planned from, as text for the page."""
    out = []
    for row in _summary.iteration_rows(events):
        n = row["iteration"]
        own = _events.iteration_events(events, n)
        final = _events.data_of(_events.last_of(own, "commit")).get("patch") or _events.data_of(_events.last_of(own, "revert")).get("patch")
        name = final or row.get("patch")
        text = None
        if name and (record / name).is_file():
            text = (record / name).read_text(encoding="utf-8", errors="replace")
            if len(text) > PATCH_LIMIT:
                text = text[:PATCH_LIMIT] + f"\n... (cut at {PATCH_LIMIT} characters; the whole patch is {name} in the record)\n"
        start = events.index(own[0]) if own else len(events)
        profile = next((e for e in reversed(events[:start + 1]) if e.get("type") == "profile"), None)
        out.append({"iteration": n, "patch": name, "patch_text": text,
                    "profile": profile_text(_events.data_of(profile)) if profile else None})
    return out


_STDLIB = re.compile(r"^.*/lib/python\d+(?:\.\d+)*/")


def display_path(path: Any) -> str:
    """A profiled file without the recording machine's directories: ``site-packages/numpy/...``, ``python/inspect.py``,
    ``campaign/plugins/phases.py``; a path already relative (the workspace's ``kernel.py``) stays as it is."""
    text = str(path or "")
    if not text.startswith("/"):
        return text
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in text:
            return marker.strip("/") + "/" + text.split(marker, 1)[1]
    if _STDLIB.match(text):
        return "python/" + _STDLIB.sub("", text)
    for package in ("/campaign/", "/targets/"):
        if package in text:
            return package.strip("/") + "/" + text.rsplit(package, 1)[1]
    return ".../" + "/".join(text.split("/")[-2:])


_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?:[\w.+@-]+/)+[\w.+@-]*[\w+@-]")


def scrub(text: str | None, roots: list[str] | tuple[str, ...] = ()) -> str | None:
    """Text from the record without the recording machine's directories (pure).

    A path under one of ``roots`` (the campaign's workspace) loses the root
    (``/tmp/rec-ws/kernel.py`` -> ``kernel.py``); an interpreter path is
    ``python``; any other absolute path is cut as the profile tables cut
    theirs (``display_path``). ``/dev/...`` stays: it names no machine.
    """
    if not text:
        return text
    roots = sorted({str(r).rstrip("/") for r in roots if r and str(r).startswith("/") and str(r) != "/"}, key=len,
                   reverse=True)

    def one(match: re.Match) -> str:
        path = match.group(0)
        if path.startswith(("/dev/", "/proc/")):
            return path
        for root in roots:
            if path == root:
                return "."
            if path.startswith(root + "/"):
                return path[len(root) + 1:]
        parts = path.split("/")
        if len(parts) >= 3 and parts[-2] == "bin" and parts[-1].startswith("python"):
            return "python"
        return display_path(path)

    return _ABSOLUTE.sub(one, text)


def record_label(record: Path | str) -> str:
    """The record as the page names it: ``optim/weight_search``, never the reviewer's home directory."""
    parts = Path(record).parts
    if not Path(record).is_absolute():
        return str(record)
    if "optim" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("optim"):])
    return parts[-1] if parts else str(record)


def profile_text(profile: dict[str, Any]) -> str:
    """A profile event as a plain-text table: phases with shares, top functions, line timings."""
    lines = [f"case {profile.get('case')}, total {profile.get('total_s') or 0:.4g} s", "", "phase                    seconds   share"]
    shares = profile.get("shares") or {}
    for name, secs in sorted((profile.get("phases") or {}).items(), key=lambda kv: -(kv[1] or 0)):
        share = shares.get(name)
        lines.append(f"{name:<22} {secs or 0:>9.4g}   {'' if share is None else f'{share:.0%}'}")
    top = profile.get("top_functions") or []
    if top:
        lines += ["", "top functions            cumulative s   own s    calls"]
        for f in top[:15]:
            where = f"{display_path(f.get('file'))}:{f.get('line')} {f.get('function')}"
            lines.append(f"{where[:60]:<60} {f.get('cumtime') or 0:>9.4g} {f.get('tottime') or 0:>9.4g} {f.get('ncalls')!s:>8}")
    for func, rows in (profile.get("lines") or {}).items():
        lines += ["", f"line timings of {func}"]
        for r in rows[:40]:
            lines.append(f"{r.get('line')!s:>5} {r.get('hits')!s:>8} {r.get('time_s') or 0:>10.4g}s  {r.get('source') or ''}")
    return "\n".join(lines)


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


def _x(value: Any, digits: int = 3) -> str:
    from campaign.measure.humane import times

    return times(value)


def _excerpt(text: Any, width: int = 44) -> str:
    if text is None:
        return "(no LOG)"
    text = " ".join(str(text).split())
    if not text:
        return "(EMPTY)"
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[list[str]], wrap: tuple[str, ...] = (), width: int | None = None) -> list[str]:
    """A table drawn to the terminal's width (rich); the ``wrap`` columns wrap inside their cells."""
    from campaign.measure.humane import table

    return table(headers, rows, width=width, wrap=wrap)


def full_case_line(fc: dict[str, Any] | None) -> str:
    """The headline in words: the full case vs the baseline, and whether its outputs were checked."""
    if not fc:
        return "full case: not run yet (FINISH runs it before the merge)"
    from campaign.measure.humane import span

    ci = f" {span(fc['ci'])}" if fc.get("ci") else ""
    outputs = ("outputs match the baseline's" if fc.get("outputs_match")
               else f"outputs DIFFER, nothing merged: {fc.get('failure')}" if fc.get("outputs_match") is False
               else "outputs not checked at FINISH (an older record)")
    return f"full case {fc.get('case')}: {_x(fc.get('speedup'))}{ci} vs the baseline; {outputs}"


def format_text(result: dict[str, Any], width: int | None = None) -> str:
    """The terminal view, drawn to the terminal's width (``width`` overrides it)."""
    from campaign.measure.humane import duration, goal, span, terminal_width

    width = width or terminal_width()
    s = result["summary"]
    cases = (result.get("headline") or {}).get("cases") or []
    out = [
        f"campaign {s['name'] or '?'} (target {s['target'] or '?'}): {s['iterations']} iterations, "
        f"{s['kept']} kept, {s['reverted']} reverted; final {_x(s['final_speedup'])}"
        + (f" {span(s['final_ci'])}" if s.get("final_ci") else "")
        + (f" (case {cases[0]['case']}: {duration(cases[0]['before_s'])} -> {duration(cases[0]['after_s'])})"
           if cases and cases[0].get("before_s") and cases[0].get("after_s") else "")
        + (f", goal {goal(s['goal_speedup'])}" if s.get("goal_speedup") else "")
        + ("" if s["finished"] else " (not finished)"),
        full_case_line(s.get("full_case")),
        f"stopped: {s.get('stop_reason') or 'not yet'}",
        *(f"  {d}" for d in s.get("decisions") or []),
        *spend_lines(result.get("agent_usage")),
        "",
    ]
    out += iteration_table(result["iterations"], width)
    levels = sorted({r["ci_level"] for r in result["iterations"] if r.get("ci_level")})
    if levels:
        from campaign.measure.stats import format_level

        out.append(f"intervals: the decisive ones, at {', '.join(format_level(v) for v in levels)} "
                   "(an overwhelming win shows the range of its blocks)")
    out += [f"iter {r['iteration']}: {r['machine_busy']}" for r in result["iterations"] if r.get("machine_busy")]
    out.append("")
    findings = result["findings"]
    if findings:
        out.append(f"findings ({len(findings)}): the record breaks the method")
        for f in findings:
            where = f"iter {f['iteration']}" if f["iteration"] is not None else "campaign"
            out.append(f"  {where:<8} {f['rule']:<24} {f['message']}")  # one finding a line: grep-able
    else:
        out.append(f"findings: none ({len(result['rules'])} rules checked)")
    out.append("")
    c = result["calibration"]
    if c["n"]:
        out.append(
            f"calibration: median measured/predicted {c['median_ratio']:.2f}; "
            f"{c['share_within']:.0%} of {c['n']} predictions within {c['factor']:g}x; typical miss {c['typical_miss']:.2f}x"
        )
    else:
        out.append("calibration: no iteration has both a prediction and a measurement")
    out.append("")
    out.append("code cost (in scope):")
    cost_rows = []
    for r in result["code_cost"]:
        if r.get("iteration") is None:
            out.append(f"  {r.get('error')}")
            continue
        cc = f"{r['complexity_before']} -> {r['complexity_after']}" if r.get("complexity_before") is not None else f"? ({_excerpt(r.get('error'), 30)})"
        funcs = ", ".join(f"{f['function']} {f['before'] if f['before'] is not None else 'new'}->{f['after'] if f['after'] is not None else 'gone'}" for f in r["functions"])
        nloc = f"{r['nloc_before']} -> {r['nloc_after']}" if r.get("nloc_before") is not None else "-"
        cost_rows.append([str(r["iteration"]), "kept" if r["kept"] else "reverted", f"+{r['added']}", f"-{r['removed']}", cc, nloc, funcs])
    out += ["  " + line for line in _table(["iter", "", "added", "removed", "complexity", "NLOC", "functions"], cost_rows,
                                           wrap=("functions",), width=width - 2)]
    from campaign.measure.humane import fit

    return fit(out, width)


def iteration_table(iterations: list[dict[str, Any]], width: int) -> list[str]:
    """The terminal's iteration table; a peak-memory column only where BENCHMARK measured it."""
    from campaign.measure.humane import span

    memory = any(r.get("memory") for r in iterations)
    rows = []
    for r in iterations:
        ci = f" {span(r['ci'])}" if r.get("ci") else ""
        verdict = r["verdict"] or ("test failed" if r["test_passed"] is False else "-")
        row = [str(r["iteration"]), r["phase"] or "-", _x(r["predicted"]), _x(r["measured"]) + ci, verdict]
        rows.append(row + ([memory_cell(r.get("memory"))] if memory else [])
                    + ["yes" if r["kept"] else "no", _excerpt(r["surprise"], 400)])
    headers = ["iter", "phase", "predicted", "measured [interval]", "verdict"] + (["peak memory"] if memory else [])
    return _table(headers + ["kept", "surprise"], rows, wrap=("surprise",), width=width)


def memory_cell(mem: dict[str, Any] | None) -> str:
    """``40.0 MiB -> 60.0 MiB (+50%, beyond +25%, accepted)`` for the terminal table; ``-`` when not measured."""
    from campaign.measure.memory import percent, size

    if not mem:
        return "-"
    beyond = ""
    if mem.get("over_limit"):
        beyond = f", beyond {percent(1 + mem['limit'])}" + (", accepted" if mem.get("accepted") else "")
    return f"{size(mem['before_kb'])} -> {size(mem['after_kb'])} ({percent(mem['ratio'])}{beyond})"


def spend_lines(agent_usage: dict[str, Any] | None) -> list[str]:
    """The agent's reported spend, when it reported any (a record without it shows nothing new)."""
    if not agent_usage or not _usage.any_reported(agent_usage):
        return []
    return [f"agent spend: {_usage.describe(agent_usage['total'])}"]


# --------------------------------------------------------------------------- HTML

_ITER = re.compile(r"\bIteration\s+(\d+)\b", re.IGNORECASE)
_SURPRISE = re.compile(r"\bsurprise\s*:", re.IGNORECASE)


def _markdown():
    from markdown_it import MarkdownIt

    # raw HTML off: a Surprise holding <script> stays text; breaks: the logs' "**Field:** value" lines keep their lines
    return MarkdownIt("commonmark", {"html": False, "breaks": True})


def _html_token(content: str):
    from markdown_it.token import Token

    token = Token("html_inline", "", 0)
    token.content = content  # written by us, never from the record
    return token


def _mark_surprise(children: list) -> list:
    """Wrap each line of an inline run that says "Surprise:" in ``<mark class="surprise">``."""
    out, line = [], []

    def flush(brk=None):
        text = "".join(t.content for t in line if t.type in ("text", "code_inline"))
        out.extend([_html_token('<mark class="surprise">'), *line, _html_token("</mark>")] if _SURPRISE.search(text) else line)
        if brk is not None:
            out.append(brk)
        line.clear()

    for token in children:
        if token.type in ("softbreak", "hardbreak"):
            flush(token)
        else:
            line.append(token)
    flush()
    return out


def markdown_html(text: str | None, prefix: str) -> tuple[str, set[str]]:
    """A rendered log as HTML (markdown-it-py, raw HTML off, so everything from the record is escaped).

    Headings move one level down (the page has its own h1/h2); a heading
    naming "Iteration N" gets ``id="<prefix>-iter-N"`` (the first one; later
    ones ``-2``, ``-3``) and a link back to its row; a line with a Surprise is
    wrapped in ``<mark class="surprise">``. Returns the HTML and the ids made.
    """
    if text is None:
        return '<p class="missing">(not rendered in this record)</p>', set()
    md = _markdown()
    tokens = md.parse(text)
    ids: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
        if token.type == "heading_open" and (it := _ITER.search(tokens[i + 1].content)):
            n = int(it.group(1))
            base = anchor = f"{prefix}-iter-{n}"
            k = 2
            while anchor in ids:
                anchor, k = f"{base}-{k}", k + 1
            ids.add(anchor)
            token.attrSet("id", anchor)
            tokens[i + 1].children.append(
                _html_token(f' <a class="back" href="#iter-{n}" title="this iteration in the table">↑</a>'))
        elif token.type == "inline" and token.children:
            token.children = _mark_surprise(token.children)
    return md.renderer.render(tokens, md.options, {}), ids


def render_html(result: dict[str, Any]) -> str:
    """The whole report as one self-contained HTML page (inline CSS and SVG, no script)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent.parent / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from campaign.measure.humane import duration, span, times
    from campaign.measure.memory import percent, size

    roots = result.get("machine_roots") or []
    env.filters.update(times=times, span=span, duration=duration, size=size, percent=percent,  # 2,777x, 168 ms
                       scrub=lambda text: scrub(text, roots), record_label=record_label)
    opt_html, opt_ids = markdown_html(scrub(result["logs"].get("optimization_log"), roots), "log")
    think_html, think_ids = markdown_html(scrub(result["logs"].get("thinking_log"), roots), "think")
    calib = result["calibration"]
    plots = {
        "cumulative": _plots.plot_cumulative(result["iterations"]),
        "phases": _plots.plot_phases(result["profiles"]["first"], result["profiles"]["last"]),
        "calibration": _plots.plot_calibration(calib["points"], calib["factor"]),
        "codecost": _plots.plot_codecost(result["code_cost"]),
    }
    template = env.get_template("report.html.j2")
    return template.render(
        r=result,
        s=result["summary"],
        h=result.get("headline") or {"agent": {"text": "not recorded"}, "cases": [], "goal": "-", "level_line": None},
        plots={k: Markup(v) for k, v in plots.items()},
        optimization_log=Markup(opt_html),
        thinking_log=Markup(think_html),
        anchors=opt_ids | think_ids | {f"cost-iter-{c['iteration']}" for c in result["code_cost"] if c.get("iteration") is not None}
        | {f"patch-iter-{a['iteration']}" for a in result.get("attachments") or []}
        | {f"phases-iter-{p['iteration']}" for p in result.get("phase_changes") or []},
        phase_explanation=_phase_changes.EXPLANATION,
        calibration_by_iter={p["iteration"]: p for p in calib["points"]},
        cost_by_iter={c["iteration"]: c for c in result["code_cost"] if c.get("iteration") is not None},
        findings_by_iter=_group_findings(result["findings"]),
        decisions=[Markup(_markdown().renderInline(scrub(d, roots))) for d in result["summary"].get("decisions") or []],
        spend=spend_view(result.get("agent_usage")),
        spend_by_iter={row["iteration"]: row["text"] for row in (spend_view(result.get("agent_usage")) or {}).get("rows", [])
                       if row["iteration"] is not None},
    )


def spend_view(agent_usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report's spend card and per-iteration rows; None when the agent reported nothing."""
    if not agent_usage or not _usage.any_reported(agent_usage):
        return None
    total = agent_usage["total"]
    value = f"${total['cost_usd']:.2f}" if total.get("cost_usd") is not None else f"{total['tokens']:,} tokens"
    rows = [{"iteration": r["iteration"], "text": _usage.describe(r)} for r in agent_usage["iterations"]]
    if agent_usage["between"]["exchanges"]:
        rows.append({"iteration": None, "text": _usage.describe(agent_usage["between"])})
    return {"value": value, "text": _usage.describe(total), "rows": rows}


def _group_findings(findings: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for f in findings:
        out.setdefault(f["iteration"], []).append(f)
    return out
