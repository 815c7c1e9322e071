"""The HTML view of a review (``campaign report``): one self-contained page (inline CSS and SVG, no script).

The plots are inline SVG (``plots.py``); the logs are Markdown rendered by
markdown-it-py with raw HTML off, so anything a record holds stays text; the
recording machine's directories are cut from everything shown (``scrub``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from campaign.loop import usage as _usage
from campaign.loop.record import Profile
from campaign.review import phase_changes as _phase_changes
from campaign.review import plots as _plots


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


def profile_text(profile: Profile) -> str:
    """A profile event as a plain-text table: phases with shares, top functions, line timings."""
    lines = [f"case {profile.case}, total {profile.total_s or 0:.4g} s", "", "phase                    seconds   share"]
    shares = profile.shares or {}
    for name, secs in sorted((profile.phases or {}).items(), key=lambda kv: -(kv[1] or 0)):
        share = shares.get(name)
        lines.append(f"{name:<22} {secs or 0:>9.4g}   {'' if share is None else f'{share:.0%}'}")
    top = profile.top_functions or []
    if top:
        lines += ["", "top functions            cumulative s   own s    calls"]
        for f in top[:15]:
            where = f"{display_path(f.get('file'))}:{f.get('line')} {f.get('function')}"
            lines.append(f"{where[:60]:<60} {f.get('cumtime') or 0:>9.4g} {f.get('tottime') or 0:>9.4g} {f.get('ncalls')!s:>8}")
    for func, rows in (profile.lines or {}).items():
        lines += ["", f"line timings of {func}"]
        for r in rows[:40]:
            lines.append(f"{r.get('line')!s:>5} {r.get('hits')!s:>8} {r.get('time_s') or 0:>10.4g}s  {r.get('source') or ''}")
    return "\n".join(lines)


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
    out: list = []
    line: list = []

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
    spend = spend_view(result.get("agent_usage"))
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
        spend=spend,
        spend_by_iter={row["iteration"]: row["text"] for row in (spend["rows"] if spend else [])
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
