"""Memory as a second objective: the peak resident set of each variant, and the limit a change may not pass unasked.

Campaign measures the peak RSS of every process it runs (``os.wait4``,
``campaign.measure.rusage``), never what the workload says. BENCHMARK keeps,
per variant, the median over its measured processes of their peak RSS
(``max_rss_kb`` in the candidate's and the reference's summaries): a median,
because one process may be descheduled into a larger heap, and all of a
benchmark's processes run the same number of warm repeats.

A change is faster *and* costs memory: LOG keeps a change whose peak RSS
rises beyond the limit (default +25%, ``memory_limit`` in ``[measure]`` of
campaign.toml, ``--memory-limit`` at LOG) only with an explicit accept
(``campaign log --accept-memory REASON``; ``accept_memory`` in the agent
protocol and the MCP ``log`` tool). Without it the change is reverted
(reason ``memory``), as an undecided one is without ``--keep``. Pure.
"""

from __future__ import annotations

from typing import Any

DEFAULT_LIMIT = 0.25  # +25% peak RSS


def peak_kb(summary: dict[str, Any] | None) -> int | None:
    """A variant summary's peak RSS in KiB (None when the record predates it or the platform gave none)."""
    value = summary.get("max_rss_kb") if summary else None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def change(bench: dict[str, Any] | None, limit: float | None = DEFAULT_LIMIT) -> dict[str, Any] | None:
    """Peak memory before (the last kept tree) and after (the candidate), their ratio and whether it passes ``limit``.

    None when either side has no peak RSS (an older record): nothing to judge, nothing shown. ``limit=None``:
    the numbers only (``over_limit`` None), as the logs show them before LOG has judged.
    """
    bench = bench or {}
    before, after = peak_kb(bench.get("reference")), peak_kb(bench.get("candidate"))
    if before is None or after is None:
        return None
    ratio = after / before
    return {"before_kb": before, "after_kb": after, "ratio": ratio, "limit": limit, "over_limit": None if limit is None else ratio > 1 + limit}


def size(kb: Any) -> str:
    """``2048 -> '2.0 MiB'``, ``1_572_864 -> '1.50 GiB'``, ``512 -> '512 KiB'``; ``'-'`` when absent."""
    if not isinstance(kb, (int, float)) or isinstance(kb, bool):
        return "-"
    if kb >= 1024 * 1024:
        return f"{kb / 1024 / 1024:.2f} GiB"
    if kb >= 1024:
        return f"{kb / 1024:.1f} MiB"
    return f"{kb:.0f} KiB"


def percent(ratio: float) -> str:
    """A ratio as a signed change: ``1.5 -> '+50%'``, ``0.9 -> '-10%'``."""
    return f"{(ratio - 1) * 100:+.0f}%"


def describe(mem: dict[str, Any] | None) -> str:
    """One line: ``peak memory 40.0 MiB -> 60.0 MiB (1.50x, +50%)``."""
    if not mem:
        return "peak memory not measured"
    return (f"peak memory {size(mem['before_kb'])} -> {size(mem['after_kb'])} "
            f"({mem['ratio']:.2f}x, {percent(mem['ratio'])})")


def over_limit_text(mem: dict[str, Any]) -> str:
    """Why a change needs an explicit accept: what it costs and the limit it passes."""
    return (f"{describe(mem)} is beyond the limit of {percent(1 + mem['limit'])} "
            f"(memory_limit in [measure] of campaign.toml, or --memory-limit)")


def log_line(mem: dict[str, Any] | None) -> str | None:
    """The optimization log's line: before -> after, and what the limit made of it (None: not measured)."""
    if not mem:
        return None
    line = f"{size(mem['before_kb'])} -> {size(mem['after_kb'])} ({mem['ratio']:.2f}x, {percent(mem['ratio'])})"
    if not mem.get("over_limit"):
        return line + (f", within the {percent(1 + mem['limit'])} limit" if mem.get("limit") is not None else "")
    limit = f"beyond the {percent(1 + mem['limit'])} limit"
    if mem.get("accepted"):
        return f"{line}, {limit}; accepted: {mem['accepted']}"
    return f"{line}, {limit}; reverted for it (no --accept-memory)" if mem.get("refused") else f"{line}, {limit}"


def parse_limit(text: Any) -> float:
    """``'25%'``, ``'0.25'`` or ``0.25`` -> 0.25; a ValueError names what is allowed."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"memory limit {text!r} is not a number (write 25% or 0.25)") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"memory limit {text!r} must be 0 or more (25% allows peak memory to rise by a quarter)")
    return value
