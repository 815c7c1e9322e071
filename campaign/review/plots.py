"""The report's plots: inline SVG written here, not a plotting library.

The report must open with no network and no JavaScript, stay a few tens of
kB, diff cleanly in git, and be testable by reading its DOM: each plot is an
``<svg id="plot-...">`` whose marks carry classes and titles. Every function
is pure: rows of ``campaign.review.report.collect`` in, SVG text out.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard


KEPT_COLOR, REVERTED_COLOR = "#2b6cb0", "#c53030"


def _e(value: Any) -> str:
    from markupsafe import escape

    return str(escape(value))


LIMIT = 1e300  # a recorded number beyond this (a tampered journal's 1e308) is drawn at it, never overflows


def _nice_ticks(lo: float, hi: float, log: bool, count: int = 5) -> list[float]:
    lo, hi = (max(min(v, LIMIT), -LIMIT) for v in (lo, hi))
    if log:
        lo, hi = max(lo, 1 / LIMIT), max(hi, 1 / LIMIT)
        ticks = []
        for k in range(math.floor(math.log10(lo)) - 1, min(math.ceil(math.log10(hi)) + 1, 300)):
            for m in (1, 2, 5):
                t = m * 10.0**k
                if lo <= t <= hi:
                    ticks.append(t)
        if len(ticks) >= 3:
            return ticks
        return [t for t in _nice_ticks(lo, hi, False, count) if t > 0] or [lo, hi]
    span = min(hi - lo, LIMIT) or 1.0
    raw = span / count
    step: float = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if span / (mult * step) <= count:
            step *= mult
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
        for t in yticks if yticks is not None else _nice_ticks(self.ylim[0], self.ylim[1], self.log_y):
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{self.y(t)}" y2="{self.y(t)}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 6}" y="{self.y(t) + 4}" text-anchor="end" class="tick">{_e(fmt_y(t))}</text>')
        for t in xticks if xticks is not None else _nice_ticks(self.xlim[0], self.xlim[1], self.log_x):
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


def _kept_path(rows: list[dict[str, Any]]):
    """The campaign's cumulative speedup after each kept change, and every other attempt at the level it left."""
    level, level_ci = 1.0, (1.0, 1.0)
    kept: list[tuple[int, float, tuple[float, float]]] = [(0, 1.0, (1.0, 1.0))]
    others: list[tuple[dict[str, Any], float]] = []
    for r in rows:
        if r.get("kept") and isinstance(r.get("cumulative"), (int, float)):
            level = r["cumulative"]
            level_ci = tuple(r.get("cumulative_ci") or (level, level))
            kept.append((r["iteration"], level, level_ci))
        else:
            others.append((r, level))
    return kept, others


def _cross(cx: float, cy: float, color: str, size: float = 3.5) -> str:
    return (f'<path d="M{cx - size},{cy - size}L{cx + size},{cy + size}M{cx - size},{cy + size}L{cx + size},{cy - size}" '
            f'stroke="{color}" stroke-width="2"/>')


def plot_cumulative(rows: list[dict[str, Any]]) -> str:
    """Cumulative speedup over the baseline, drawn over the kept changes only, with the band of its decisive interval.

    An attempt that was not kept moves nothing: it is marked at the level the
    campaign stood at (hollow: reverted after BENCHMARK; a red cross: TEST
    failed), its own measurement in its tooltip.
    """
    title = "Cumulative speedup over the baseline (kept changes)"
    if not rows:
        return _empty("plot-cumulative", title, "no iteration yet")
    kept, others = _kept_path(rows)
    values = [v for _, level, ci in kept for v in (level, *ci)]
    lo, hi = min(values), max(values)
    log_y = hi / lo > 8
    ylim = (lo / 1.15, hi * 1.15) if log_y else (min(0.0, lo), hi * 1.1)
    last = max(r["iteration"] for r in rows)
    ax = _Axes((-0.5, last + 0.5), ylim, log_y=log_y, height=340, margin=(36, 20, 46, 64))  # legend above the data
    body = ax.frame("iteration (0 = baseline)", "speedup vs baseline (x)", xticks=list(range(0, last + 1)), fmt_x=lambda v: f"{int(v)}", fmt_y=lambda v: f"{v:g}x")
    body.append(f'<line class="no-change" x1="{ax.left}" x2="{ax.width - ax.right}" y1="{ax.y(1)}" y2="{ax.y(1)}" stroke="#888" stroke-dasharray="4 3"/>')
    if len(kept) > 1:
        steps = [(kept[0][0], kept[0][1], kept[0][2])]
        for i, v, ci in kept[1:]:
            steps += [(i, steps[-1][1], steps[-1][2]), (i, v, ci)]
        steps.append((last, kept[-1][1], kept[-1][2]))
        upper = " ".join(f"{ax.x(i)},{ax.y(ci[1])}" for i, _, ci in steps)
        lower = " ".join(f"{ax.x(i)},{ax.y(ci[0])}" for i, _, ci in reversed(steps))
        body.append(f'<polygon class="ci-band" points="{upper} {lower}" fill="{KEPT_COLOR}" fill-opacity="0.15" stroke="none"/>')
        body.append('<polyline class="kept-path" fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (KEPT_COLOR, " ".join(f"{ax.x(i)},{ax.y(v)}" for i, v, _ in steps)))
    body.append(f'<circle class="point baseline" cx="{ax.x(0)}" cy="{ax.y(1)}" r="4" fill="#555"><title>baseline 1x</title></circle>')
    for i, v, ci in kept[1:]:
        tip = f"iteration {i} (kept): {v:.3g}x over the baseline [{ci[0]:.3g}, {ci[1]:.3g}]"
        body.append(f'<line class="ci" x1="{ax.x(i)}" x2="{ax.x(i)}" y1="{ax.y(ci[0])}" y2="{ax.y(ci[1])}" stroke="{KEPT_COLOR}" stroke-width="1.5"/>')
        body.append(f'<a href="#iter-{i}"><circle class="point kept" cx="{ax.x(i)}" cy="{ax.y(v)}" r="5.5" fill="{KEPT_COLOR}"><title>{_e(tip)}</title></circle></a>')
    for r, level in others:
        cx, cy = ax.x(r["iteration"]), ax.y(level)
        if r.get("test_passed") is False:
            tip = f"iteration {r['iteration']}: TEST failed, reverted" + (f": {r['test_failure']}" if r.get("test_failure") else "")
            body.append(f'<a href="#iter-{r["iteration"]}"><g class="point test-failed"><title>{_e(tip)}</title>'
                        f'<circle cx="{cx}" cy="{cy}" r="7" fill="#fff" fill-opacity="0.8"/>{_cross(cx, cy, REVERTED_COLOR, 5)}</g></a>')
            continue
        own = r.get("measured")
        tip = (f"iteration {r['iteration']} ({'reverted' if r.get('kept') is False else 'not kept'}): "
               + (f"{own:.3g}x vs the last kept" if isinstance(own, (int, float)) else "not measured"))
        body.append(f'<a href="#iter-{r["iteration"]}"><g class="point reverted"><title>{_e(tip)}</title>'
                    f'<circle cx="{cx}" cy="{cy}" r="5.5" fill="#fff" stroke="{REVERTED_COLOR}" stroke-width="2"/></g></a>')
    lx = ax.left + 12
    body.append(f'<g class="legend" transform="translate({lx} 18)">' + legend_row([
        (f'<circle cx="{{x}}" cy="0" r="5" fill="{KEPT_COLOR}"/>', "kept (band: the decisive interval)"),
        (f'<circle cx="{{x}}" cy="0" r="5" fill="#fff" stroke="{REVERTED_COLOR}" stroke-width="2"/>', "reverted"),
        ("{cross}", "TEST failed"),
    ]) + "</g>")
    return _svg("plot-cumulative", title, ax, body)


LEGEND_CHAR_PX = 7.0  # a generous width per character at the legend's 12px: items never run into each other


def legend_row(items: list[tuple[str, str]], gap: float = 22.0) -> str:
    """Legend items side by side, each placed after the previous one's text (marker at ``{x}``, centred on 0)."""
    out, x = [], 0.0
    for marker, label in items:
        mark = _cross(round(x, 1), 0, REVERTED_COLOR) if marker == "{cross}" else marker.replace("{x}", f"{x:g}")
        out.append(f'{mark}<text x="{x + 10:g}" y="4">{_e(label)}</text>')
        x += 10 + len(label) * LEGEND_CHAR_PX + gap
    return "".join(out)


BEFORE_COLOR, AFTER_COLOR = "#a0aec0", "#2b6cb0"


def _positive(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and v > 0


def _phase_groups(first: dict[str, float], last: dict[str, float] | None):
    """The bars (before, and after when there is a last profile), each phase's values, and the totals."""
    bars = [("before", first)] + ([("after", last)] if last else [])
    names = list(dict.fromkeys([n for _, ph in bars for n in ph]))
    totals = {label: sum(v for v in ph.values() if _positive(v)) for label, ph in bars}
    groups = [(name, {label: ph.get(name) for label, ph in bars}) for name in names] + [("total", totals)]
    return [label for label, _ in bars], totals, groups


def _phase_group(ax: _Axes, i: int, slot: float, group: tuple[str, dict[str, Any]], labels: list[str],
                 totals: dict[str, float], lo: float) -> list[str]:
    """One phase's bars side by side, the before/after ratio above them and the phase's name below."""
    name, g = group
    out = []
    bw = slot * 0.8 / len(labels)
    x0 = ax.x(i) + slot * 0.1
    for j, label in enumerate(labels):
        v = g.get(label)
        if not _positive(v):
            continue
        top = ax.y(v)
        share = f", {v / totals[label]:.0%} of the run" if name != "total" and totals[label] else ""
        out.append(
            f'<rect class="phase-bar {label}" data-phase="{_e(name)}" x="{round(x0 + j * bw, 1)}" y="{top}" '
            f'width="{round(bw, 1)}" height="{round(ax.y(lo) - top, 1)}" fill="{BEFORE_COLOR if label == "before" else AFTER_COLOR}">'
            f'<title>{_e(f"{name}: {v:.3g}s {label}{share}")}</title></rect>')
    before, after = g.get("before"), g.get("after")
    if isinstance(before, (int, float)) and isinstance(after, (int, float)) and before > 0 and after > 0:
        out.append(f'<text x="{round(x0 + bw * len(labels) / 2, 1)}" y="{ax.y(max(before, after)) - 6}" text-anchor="middle" class="tick">{before / after:.3g}x</text>')
    out.append(f'<text x="{round(ax.x(i) + slot / 2, 1)}" y="{ax.height - ax.bottom + 16}" text-anchor="middle" class="tick">{_e(name)}</text>')
    return out


def plot_phases(first: dict[str, float] | None, last: dict[str, float] | None) -> str:
    """Per-phase seconds, first profile vs last, side by side on a log scale (a 100x faster phase stays visible)."""
    title = "Per-phase runtime, first profile vs last profile (log scale)"
    if not first:
        return _empty("plot-phases", title, "no profile in the record")
    labels, totals, groups = _phase_groups(first, last)
    values = [v for _, g in groups for v in g.values() if _positive(v)]
    if not values:
        return _empty("plot-phases", title, "the profiles hold no positive phase time")
    lo, hi = min(values) / 3, max(values) * 2
    ax = _Axes((0, len(groups)), (lo, hi), log_y=True, width=760, height=340, margin=(36, 20, 46, 64))
    decades = [10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1) if lo <= 10.0 ** k <= hi]
    body = ax.frame("", "seconds (log scale)", xticks=[], yticks=decades if len(decades) >= 3 else None, fmt_y=lambda v: f"{v:g}s")
    slot = (ax.width - ax.left - ax.right) / len(groups)
    for i, group in enumerate(groups):
        body += _phase_group(ax, i, slot, group, labels, totals, lo)
    body.append(f'<g class="legend" transform="translate({ax.left + 4} 18)"><rect x="0" y="-9" width="12" height="12" fill="{BEFORE_COLOR}"/>'
                f'<text x="18" y="2">first profile</text><rect x="120" y="-9" width="12" height="12" fill="{AFTER_COLOR}"/><text x="138" y="2">last profile</text></g>')
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
