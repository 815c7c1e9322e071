"""Numbers and tables for people: ``2,777x`` (never ``2.78e+03x``), titles cut at a word, tables that fit the terminal.

Pure text helpers shared by every human view (``campaign status``,
``campaign review``, the report, finalize's pull-request texts). Tables are
drawn by rich (already the live-progress dependency) to the terminal's width
(``COLUMNS`` honoured; 160 columns when the output is not a terminal), so a
wide table wraps inside its cells instead of across lines.
"""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

OUT_OF_REACH = 10_000.0  # a goal this large is a sentinel: the campaign stops on its own rules


def times(value: Any) -> str:
    """A speedup: ``1.446 -> '1.45x'``, ``23.28 -> '23.3x'``, ``2777.3 -> '2,777x'``; ``'-'`` when absent."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}x"
    if abs(value) >= 10:
        return f"{value:.1f}x"
    return f"{value:.2f}x"


def span(ci: Sequence[float] | None) -> str:
    """An interval of speedups: ``[40.8x, 205x]``; ``''`` when absent."""
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"[{times(ci[0])}, {times(ci[1])}]"


def goal(value: Any) -> str:
    """The goal in words: a sentinel far out of reach says what it is for."""
    if not isinstance(value, (int, float)):
        return "none"
    if value >= OUT_OF_REACH:
        return f"none (set out of reach, {times(value)}, so the campaign stops on its own rules)"
    return times(value)


def duration(seconds: Any) -> str:
    """``0.168 -> '168 ms'``, ``1.37 -> '1.37 s'``, ``0.0018 -> '1.80 ms'``."""
    if not isinstance(seconds, (int, float)):
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def shorten(text: Any, width: int) -> str:
    """``text`` on one line, cut at a word boundary with an ellipsis when longer than ``width``."""
    flat = " ".join(str(text or "").split())
    if len(flat) <= width:
        return flat
    cut = textwrap.shorten(flat, width=width, placeholder="…")
    return cut if cut != "…" else flat[: width - 1] + "…"


def terminal_width(default: int = 160) -> int:
    """The terminal's width (``COLUMNS`` first); ``default`` when stdout is no terminal (a pipe, a file, a log)."""
    import os
    import sys

    if os.environ.get("COLUMNS", "").isdigit():
        return max(40, int(os.environ["COLUMNS"]))
    try:
        if sys.stdout.isatty():
            return max(40, os.get_terminal_size(sys.stdout.fileno()).columns)
    except (AttributeError, OSError, ValueError):
        pass
    return default


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int | None = None,
          wrap: Sequence[str] = ()) -> list[str]:
    """A plain-text table no wider than ``width``: the columns named in ``wrap`` wrap inside their cells."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text  # plain Text: "[interval]" in a header is not rich markup

    width = width or terminal_width()
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False, soft_wrap=False,
                      legacy_windows=False)

    def build(wrap_all: bool) -> Table:
        t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
        for h in headers:
            if h in wrap:
                t.add_column(Text(h), overflow="fold", ratio=1, min_width=min(16, len(h) + 8))
            else:  # kept on one line while the table fits; wrapped at spaces when it cannot
                t.add_column(Text(h), no_wrap=not wrap_all, overflow="fold")
        for row in rows:
            t.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        return t

    texts = [[str(h) for h in headers], *([("" if c is None else str(c)) for c in row] for row in rows)]
    least = sum(min(16, len(h) + 8) if h in wrap else max(len(r[i]) for r in texts) for i, h in enumerate(headers))
    # rich crops the last columns' cells at the edge, silently, when one-line columns leave no room: wrap them too
    console.print(build(least + 2 * (len(headers) - 1) > width))
    return [line.rstrip() for line in out.getvalue().rstrip("\n").splitlines()]


def fit(lines: Sequence[str], width: int | None = None) -> str:
    """Join ``lines``, wrapping each longer than ``width`` at words (continuations indented by two more)."""
    width = width or terminal_width()
    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, width=width, initial_indent="", subsequent_indent=lead + "  ",
                             break_on_hyphens=False) or [line]
    return "\n".join(out)
