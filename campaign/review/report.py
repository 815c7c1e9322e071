"""The reviewer's views of a record: the terminal table and the HTML report.

``collect(record_dir)`` gathers everything from the record alone (findings,
per-iteration rows, calibration, code cost, profiles, rendered logs) into one
JSON-able dict; ``format_text`` and ``render_html`` only present it.

The plots are inline SVG written here, not a plotting library: the report
must open with no network and no JavaScript, stay a few tens of kB, diff
cleanly in git, and be testable by reading its DOM (each plot is an
``<svg id="plot-...">`` whose marks carry classes and titles).
"""

from __future__ import annotations

import math
import subprocess
import re
from pathlib import Path
from typing import Any

from campaign.review import calibration as _calibration
from campaign.review import codecost as _codecost
from campaign.review import lint as _review


def collect(record_dir: Path) -> dict[str, Any]:
    record = Path(record_dir)
    events = _review.load_record(record)
    findings = _review.check(events)
    profiles = _review.of_type(events, "profile")
    try:
        cost = _codecost.code_cost(record, events)
    except (OSError, subprocess.SubprocessError) as exc:  # no git: the rest of the review still stands
        cost = [{"iteration": None, "error": f"code cost unavailable: {exc}"}]
    logs = _logs(record, events)
    return {
        "ok": not findings,
        "record": str(record),
        "summary": _review.summary(events),
        "rules": [{"id": r.id, "description": r.description} for r in _review.RULES],
        "findings": [f.to_dict() for f in findings],
        "iterations": _review.iteration_rows(events),
        "calibration": _calibration.calibration(events),
        "code_cost": cost,
        "profiles": {
            "first": _review._data(profiles[0]).get("phases") if profiles else None,
            "last": _review._data(profiles[-1]).get("phases") if len(profiles) > 1 else None,
        },
        "logs": logs,
    }


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
    return f"{value:.{digits}g}x" if isinstance(value, (int, float)) else "-"


def _excerpt(text: Any, width: int = 44) -> str:
    if text is None:
        return "(no LOG)"
    text = " ".join(str(text).split())
    if not text:
        return "(EMPTY)"
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def format_text(result: dict[str, Any]) -> str:
    s = result["summary"]
    out = [
        f"campaign {s['name'] or '?'} (target {s['target'] or '?'}): {s['iterations']} iterations, "
        f"{s['kept']} kept, {s['reverted']} reverted; final {_x(s['final_speedup'])}"
        + (f" [{s['final_ci'][0]:.3g}, {s['final_ci'][1]:.3g}]" if s.get("final_ci") else "")
        + (f", goal {_x(s['goal_speedup'])}" if s.get("goal_speedup") else "")
        + ("" if s["finished"] else " (not finished)"),
        "",
    ]
    rows = []
    for r in result["iterations"]:
        ci = f" [{r['ci'][0]:.3g}, {r['ci'][1]:.3g}]" if r.get("ci") else ""
        verdict = r["verdict"] or ("test failed" if r["test_passed"] is False else "-")
        rows.append([str(r["iteration"]), r["phase"] or "-", _x(r["predicted"]), _x(r["measured"]) + ci, verdict, "yes" if r["kept"] else "no", _excerpt(r["surprise"])])
    out += _table(["iter", "phase", "predicted", "measured [interval]", "verdict", "kept", "surprise"], rows)
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
            out.append(f"  {where:<8} {f['rule']:<24} {f['message']}")
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
        cost_rows.append([str(r["iteration"]), "kept" if r["kept"] else "reverted", f"+{r['added']}", f"-{r['removed']}", cc, _excerpt(funcs, 50)])
    out += ["  " + line for line in _table(["iter", "", "added", "removed", "complexity", "functions"], cost_rows)]
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML

PHASE_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
KEPT_COLOR, REVERTED_COLOR = "#2b6cb0", "#c53030"


def _e(value: Any) -> str:
    from markupsafe import escape

    return str(escape(value))


def _nice_ticks(lo: float, hi: float, log: bool, count: int = 5) -> list[float]:
    if log:
        ticks = []
        for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
            for m in (1, 2, 5):
                t = m * 10.0**k
                if lo <= t <= hi:
                    ticks.append(t)
        if len(ticks) >= 3:
            return ticks
        return [t for t in _nice_ticks(lo, hi, False, count) if t > 0] or [lo, hi]
    span = hi - lo or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if span / (m * step) <= count:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step + 1e-9) + 1)]


class _Axes:
    """Data -> pixel mapping of one plot, and its frame, ticks and labels as SVG."""

    def __init__(self, xlim, ylim, *, log_x=False, log_y=False, width=760, height=320, margin=(20, 20, 46, 64)):
        self.xlim, self.ylim, self.log_x, self.log_y = xlim, ylim, log_x, log_y
        self.width, self.height = width, height
        self.top, self.right, self.bottom, self.left = margin

    def _frac(self, v, lim, log):
        lo, hi = lim
        if log:
            v, lo, hi = math.log10(v), math.log10(lo), math.log10(hi)
        return (v - lo) / ((hi - lo) or 1.0)

    def x(self, v: float) -> float:
        return round(self.left + self._frac(v, self.xlim, self.log_x) * (self.width - self.left - self.right), 1)

    def y(self, v: float) -> float:
        return round(self.height - self.bottom - self._frac(v, self.ylim, self.log_y) * (self.height - self.top - self.bottom), 1)

    def frame(self, xlabel: str, ylabel: str, xticks=None, yticks=None, fmt_x=None, fmt_y=None) -> list[str]:
        fmt_x = fmt_x or (lambda v: f"{v:g}")
        fmt_y = fmt_y or (lambda v: f"{v:g}")
        x0, x1, y0, y1 = self.left, self.width - self.right, self.top, self.height - self.bottom
        out = [f'<rect class="plot-area" x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="#fff" stroke="#ccc"/>']
        for t in yticks if yticks is not None else _nice_ticks(*self.ylim, self.log_y):
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{self.y(t)}" y2="{self.y(t)}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 6}" y="{self.y(t) + 4}" text-anchor="end" class="tick">{_e(fmt_y(t))}</text>')
        for t in xticks if xticks is not None else _nice_ticks(*self.xlim, self.log_x):
            out.append(f'<text x="{self.x(t)}" y="{y1 + 16}" text-anchor="middle" class="tick">{_e(fmt_x(t))}</text>')
        out.append(f'<text x="{(x0 + x1) / 2}" y="{self.height - 8}" text-anchor="middle" class="label">{_e(xlabel)}</text>')
        out.append(f'<text transform="translate(16 {(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" class="label">{_e(ylabel)}</text>')
        return out


def _svg(id_: str, title: str, axes_or_size, body: list[str]) -> str:
    w, h = (axes_or_size.width, axes_or_size.height) if isinstance(axes_or_size, _Axes) else axes_or_size
    return (
        f'<svg id="{id_}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>' + "".join(body) + "</svg>"
    )


def _empty(id_: str, title: str, why: str) -> str:
    return _svg(id_, title, (760, 60), [f'<text x="10" y="35" class="label">{_e(why)}</text>'])


def plot_cumulative(rows: list[dict[str, Any]]) -> str:
    """Cumulative speedup vs the baseline per iteration, with its CI band; kept filled, reverted hollow."""
    title = "Cumulative speedup over the baseline per iteration"
    pts = [r for r in rows if isinstance(r.get("cumulative"), (int, float))]
    if not pts:
        return _empty("plot-cumulative", title, "no benchmarked iteration yet")
    values = [1.0] + [r["cumulative"] for r in pts] + [v for r in pts for v in (r.get("cumulative_ci") or [])]
    lo, hi = min(values), max(values)
    log_y = hi / lo > 8
    ylim = (lo / 1.15, hi * 1.15) if log_y else (min(0.0, lo), hi * 1.1)
    last = max(r["iteration"] for r in pts)
    ax = _Axes((-0.5, last + 0.5), ylim, log_y=log_y)
    body = ax.frame("iteration (0 = baseline)", "speedup vs baseline (x)", xticks=list(range(0, last + 1)), fmt_x=lambda v: f"{int(v)}", fmt_y=lambda v: f"{v:g}x")
    body.append(f'<line class="no-change" x1="{ax.left}" x2="{ax.width - ax.right}" y1="{ax.y(1)}" y2="{ax.y(1)}" stroke="#888" stroke-dasharray="4 3"/>')
    kept = [(0, 1.0, (1.0, 1.0))] + [(r["iteration"], r["cumulative"], tuple(r.get("cumulative_ci") or (r["cumulative"],) * 2)) for r in pts if r["kept"]]
    if len(kept) > 1:
        upper = " ".join(f"{ax.x(i)},{ax.y(ci[1])}" for i, _, ci in kept)
        lower = " ".join(f"{ax.x(i)},{ax.y(ci[0])}" for i, _, ci in reversed(kept))
        body.append(f'<polygon class="ci-band" points="{upper} {lower}" fill="{KEPT_COLOR}" fill-opacity="0.15" stroke="none"/>')
        body.append('<polyline class="kept-path" fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (KEPT_COLOR, " ".join(f"{ax.x(i)},{ax.y(v)}" for i, v, _ in kept)))
    body.append(f'<circle class="point baseline" cx="{ax.x(0)}" cy="{ax.y(1)}" r="4" fill="#555"><title>baseline 1x</title></circle>')
    for r in pts:
        cx, cy = ax.x(r["iteration"]), ax.y(r["cumulative"])
        ci = r.get("cumulative_ci")
        color = KEPT_COLOR if r["kept"] else REVERTED_COLOR
        tip = f"iteration {r['iteration']} ({'kept' if r['kept'] else 'reverted'}): {r['cumulative']:.3g}x" + (f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else "")
        if ci:
            body.append(f'<line class="ci" x1="{cx}" x2="{cx}" y1="{ax.y(ci[0])}" y2="{ax.y(ci[1])}" stroke="{color}" stroke-width="1.5"/>')
        if r["kept"]:
            body.append(f'<a href="#iter-{r["iteration"]}"><circle class="point kept" cx="{cx}" cy="{cy}" r="5.5" fill="{color}"><title>{_e(tip)}</title></circle></a>')
        else:
            body.append(
                f'<a href="#iter-{r["iteration"]}"><g class="point reverted"><title>{_e(tip)}</title>'
                f'<circle cx="{cx}" cy="{cy}" r="5.5" fill="#fff" stroke="{color}" stroke-width="2"/>'
                f'<path d="M{cx - 3.5},{cy - 3.5}L{cx + 3.5},{cy + 3.5}M{cx - 3.5},{cy + 3.5}L{cx + 3.5},{cy - 3.5}" stroke="{color}" stroke-width="1.5"/></g></a>'
            )
    lx = ax.left + 12
    body.append(
        f'<g class="legend" transform="translate({lx} {ax.top + 14})">'
        f'<circle cx="0" cy="0" r="5" fill="{KEPT_COLOR}"/><text x="10" y="4">kept (band: the decisive interval)</text>'
        f'<circle cx="150" cy="0" r="5" fill="#fff" stroke="{REVERTED_COLOR}" stroke-width="2"/><text x="160" y="4">reverted attempt</text></g>'
    )
    return _svg("plot-cumulative", title, ax, body)


def plot_phases(first: dict[str, float] | None, last: dict[str, float] | None) -> str:
    """Stacked bars of per-phase seconds: first profile vs last profile."""
    title = "Per-phase runtime, first profile vs last profile"
    if not first:
        return _empty("plot-phases", title, "no profile in the record")
    bars = [("before (first profile)", first)] + ([("after (last profile)", last)] if last else [])
    names = list(dict.fromkeys([n for _, ph in bars for n in ph]))
    top = max(sum(v for v in ph.values() if isinstance(v, (int, float))) for _, ph in bars) or 1.0
    ax = _Axes((0, len(bars)), (0, top * 1.08), width=760, height=340, margin=(20, 220, 46, 64))
    body = ax.frame("", "seconds", xticks=[], fmt_y=lambda v: f"{v:g}s")
    bw = (ax.width - ax.left - ax.right) / len(bars) * 0.5
    for i, (label, ph) in enumerate(bars):
        cx = ax.x(i + 0.5)
        base = 0.0
        total = sum(v for v in ph.values() if isinstance(v, (int, float)))
        for j, name in enumerate(names):
            v = ph.get(name)
            if not isinstance(v, (int, float)) or v <= 0:
                continue
            y0, y1 = ax.y(base), ax.y(base + v)
            tip = f"{name}: {v:.3g}s ({v / total:.0%} of {label})"
            body.append(
                f'<rect class="phase-bar" data-phase="{_e(name)}" x="{round(cx - bw / 2, 1)}" y="{y1}" width="{round(bw, 1)}" '
                f'height="{round(y0 - y1, 1)}" fill="{PHASE_COLORS[j % len(PHASE_COLORS)]}" stroke="#fff"><title>{_e(tip)}</title></rect>'
            )
            if y0 - y1 > 14:
                body.append(f'<text x="{cx}" y="{(y0 + y1) / 2 + 4}" text-anchor="middle" class="bar-label">{_e(name)} {v / total:.0%}</text>')
            base += v
        body.append(f'<text x="{cx}" y="{ax.height - ax.bottom + 16}" text-anchor="middle" class="tick">{_e(label)}</text>')
        body.append(f'<text x="{cx}" y="{ax.y(base) - 6}" text-anchor="middle" class="tick">{total:.3g}s</text>')
    for j, name in enumerate(names):
        y = ax.top + 10 + j * 20
        x = ax.width - ax.right + 20
        body.append(f'<rect x="{x}" y="{y - 9}" width="12" height="12" fill="{PHASE_COLORS[j % len(PHASE_COLORS)]}"/><text x="{x + 18}" y="{y + 2}" class="tick">{_e(name)}</text>')
    return _svg("plot-phases", title, ax, body)


def plot_calibration(points: list[dict[str, Any]], factor: float = 1.25) -> str:
    """Predicted vs measured speedup, log-log, with the diagonal and the within-factor band."""
    title = "Predicted vs measured speedup (log scale)"
    if not points:
        return _empty("plot-calibration", title, "no iteration has both a prediction and a measurement")
    vals = [p[k] for p in points for k in ("predicted", "measured")]
    lo, hi = min(vals + [1.0]) / 1.3, max(vals + [1.0]) * 1.3
    ax = _Axes((lo, hi), (lo, hi), log_x=True, log_y=True, width=520, height=440)
    body = ax.frame("predicted speedup (x)", "measured speedup (x)", fmt_x=lambda v: f"{v:g}", fmt_y=lambda v: f"{v:g}")
    band = f"{ax.x(lo)},{ax.y(lo * factor)} {ax.x(hi / factor)},{ax.y(hi)} {ax.x(hi)},{ax.y(hi)} {ax.x(hi)},{ax.y(hi / factor)} {ax.x(lo * factor)},{ax.y(lo)} {ax.x(lo)},{ax.y(lo)}"
    body.append(f'<polygon class="within-band" points="{band}" fill="#48bb78" fill-opacity="0.12"/>')
    body.append(f'<line class="diagonal" x1="{ax.x(lo)}" y1="{ax.y(lo)}" x2="{ax.x(hi)}" y2="{ax.y(hi)}" stroke="#444" stroke-dasharray="5 4"/>')
    for p in points:
        cx, cy = ax.x(p["predicted"]), ax.y(p["measured"])
        color = "#2f855a" if p["within"] else REVERTED_COLOR
        tip = f"iteration {p['iteration']}: predicted {p['predicted']:.3g}x, measured {p['measured']:.3g}x (ratio {p['ratio']:.2f})"
        body.append(
            f'<a href="#iter-{p["iteration"]}"><circle class="point" cx="{cx}" cy="{cy}" r="5.5" fill="{color}" fill-opacity="0.85"><title>{_e(tip)}</title></circle>'
            f'<text x="{cx + 8}" y="{cy - 6}" class="tick">{p["iteration"]}</text></a>'
        )
    body.append(f'<text x="{ax.left + 8}" y="{ax.top + 16}" class="tick">dashed: measured = predicted; green band: within {factor:g}x</text>')
    return _svg("plot-calibration", title, ax, body)


def plot_codecost(cost: list[dict[str, Any]]) -> str:
    """Lines added (up) and removed (down) per iteration, complexity change above."""
    title = "Code cost per iteration: lines added / removed in scope"
    rows = [r for r in cost if r.get("iteration") is not None and "added" in r]
    if not rows:
        return _empty("plot-codecost", title, "no patches in the record")
    top = max([r["added"] for r in rows] + [1])
    bottom = max([r["removed"] for r in rows] + [1])
    ax = _Axes((0, len(rows)), (-bottom * 1.25, top * 1.35), height=300)
    body = ax.frame("iteration", "lines", xticks=[], fmt_y=lambda v: f"{abs(v):g}")
    body.append(f'<line x1="{ax.left}" x2="{ax.width - ax.right}" y1="{ax.y(0)}" y2="{ax.y(0)}" stroke="#888"/>')
    bw = (ax.width - ax.left - ax.right) / len(rows) * 0.35
    for i, r in enumerate(rows):
        cx = ax.x(i + 0.5)
        opacity = "1" if r["kept"] else "0.45"
        body.append(f'<rect class="added" x="{round(cx - bw, 1)}" y="{ax.y(r["added"])}" width="{round(bw, 1)}" height="{round(ax.y(0) - ax.y(r["added"]), 1)}" fill="#38a169" fill-opacity="{opacity}"><title>iteration {r["iteration"]}: +{r["added"]} lines</title></rect>')
        body.append(f'<rect class="removed" x="{cx}" y="{ax.y(0)}" width="{round(bw, 1)}" height="{round(ax.y(-r["removed"]) - ax.y(0), 1)}" fill="#e53e3e" fill-opacity="{opacity}"><title>iteration {r["iteration"]}: -{r["removed"]} lines</title></rect>')
        label = f"{r['iteration']}{'' if r['kept'] else ' (reverted)'}"
        body.append(f'<a href="#cost-iter-{r["iteration"]}"><text x="{cx}" y="{ax.height - ax.bottom + 16}" text-anchor="middle" class="tick">{_e(label)}</text></a>')
        if r.get("complexity_before") is not None:
            body.append(f'<text x="{cx}" y="{ax.top + 14}" text-anchor="middle" class="tick">cc {r["complexity_before"]}→{r["complexity_after"]}</text>')
    body.append(f'<text x="{ax.width - ax.right - 6}" y="{ax.height - ax.bottom - 6}" text-anchor="end" class="tick">green: added, red: removed; faded: reverted</text>')
    return _svg("plot-codecost", title, ax, body)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_HEAD = re.compile(r"^(#{1,6})\s+(.*)$")
_ITER = re.compile(r"\bIteration\s+(\d+)\b", re.IGNORECASE)


def markdown_html(text: str | None, prefix: str) -> tuple[str, set[str]]:
    """A minimal markdown -> HTML of our own that escapes everything first.

    Headings, bullet lists, ``**bold**``, ```code```, fenced blocks and
    paragraphs; a heading naming "Iteration N" gets ``id="<prefix>-iter-N"``
    (the first one; later ones ``-2``, ``-3``); a line with a Surprise is
    wrapped in ``<mark class="surprise">``. Returns the HTML and the ids made.
    """
    if text is None:
        return '<p class="missing">(not rendered in this record)</p>', set()
    out: list[str] = []
    ids: set[str] = set()
    para: list[str] = []
    in_list = in_code = False

    def inline(s: str) -> str:
        s = _e(s)
        s = _CODE.sub(r"<code>\1</code>", s)
        s = _BOLD.sub(r"<strong>\1</strong>", s)
        return s

    def surprise(raw: str, html: str) -> str:
        return f'<mark class="surprise">{html}</mark>' if re.search(r"\bsurprise\b\s*\**\s*:", raw, re.IGNORECASE) else html

    def flush() -> None:
        nonlocal in_list
        if para:
            out.append("<p>" + "<br>".join(para) + "</p>")
            para.clear()
        if in_list:
            out.append("</ul>")
            in_list = False

    for raw in text.splitlines():
        if raw.strip().startswith("```"):
            if in_code:
                out.append("</pre>")
                in_code = False
            else:
                flush()
                out.append('<pre class="code">')
                in_code = True
            continue
        if in_code:
            out.append(_e(raw) + "\n")
            continue
        if not raw.strip():
            flush()
            continue
        m = _HEAD.match(raw)
        if m:
            flush()
            level = min(len(m.group(1)) + 1, 6)
            attr = ""
            it = _ITER.search(m.group(2))
            if it:
                base = f"{prefix}-iter-{int(it.group(1))}"
                anchor, k = base, 2
                while anchor in ids:
                    anchor, k = f"{base}-{k}", k + 1
                ids.add(anchor)
                attr = f' id="{anchor}"'
                back = f' <a class="back" href="#iter-{int(it.group(1))}" title="this iteration in the table">↑</a>'
            else:
                back = ""
            out.append(f"<h{level}{attr}>{inline(m.group(2))}{back}</h{level}>")
            continue
        stripped = raw.lstrip()
        if stripped.startswith(("- ", "* ")):
            if para:
                out.append("<p>" + "<br>".join(para) + "</p>")
                para.clear()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append("<li>" + surprise(raw, inline(stripped[2:])) + "</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        para.append(surprise(raw, inline(raw)))
    if in_code:
        out.append("</pre>")
    flush()
    return "\n".join(out), ids


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
    opt_html, opt_ids = markdown_html(result["logs"].get("optimization_log"), "log")
    think_html, think_ids = markdown_html(result["logs"].get("thinking_log"), "think")
    calib = result["calibration"]
    plots = {
        "cumulative": plot_cumulative(result["iterations"]),
        "phases": plot_phases(result["profiles"]["first"], result["profiles"]["last"]),
        "calibration": plot_calibration(calib["points"], calib["factor"]),
        "codecost": plot_codecost(result["code_cost"]),
    }
    template = env.get_template("report.html.j2")
    return template.render(
        r=result,
        s=result["summary"],
        plots={k: Markup(v) for k, v in plots.items()},
        optimization_log=Markup(opt_html),
        thinking_log=Markup(think_html),
        anchors=opt_ids | think_ids | {f"cost-iter-{c['iteration']}" for c in result["code_cost"] if c.get("iteration") is not None},
        calibration_by_iter={p["iteration"]: p for p in calib["points"]},
        cost_by_iter={c["iteration"]: c for c in result["code_cost"] if c.get("iteration") is not None},
        findings_by_iter=_group_findings(result["findings"]),
    )


def _group_findings(findings: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for f in findings:
        out.setdefault(f["iteration"], []).append(f)
    return out
