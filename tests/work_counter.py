"""Counting work instead of timing it: how many Python lines a call executes.

"Refused before any work" is a statement about work done, which a busy machine
cannot change; a stopwatch bound (< 0.05 s) can fail at load 8 for no reason.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable


class TooMuchWork(AssertionError):
    """Raised inside the traced call once it has run more lines than allowed."""


def lines_executed(func: Callable[[], object], cap: int, under: str | Path | None = None) -> int:
    """Run ``func`` under a line tracer; return the lines it ran, or raise TooMuchWork past ``cap``.

    Only lines in files below ``under`` count when it is given (the code under test, not
    the libraries it imports on first use). The cap is checked after the call too, since
    code that catches broad exceptions can swallow the tracer's own.
    """
    prefix = str(Path(under).resolve()) if under else ""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line" and frame.f_code.co_filename.startswith(prefix):
            count += 1
            if count > cap:
                raise TooMuchWork(f"more than {cap} Python lines ran: this is not a refusal before any work")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        func()
    finally:
        sys.settrace(previous)
    if count > cap:
        raise TooMuchWork(f"more than {cap} Python lines ran: this is not a refusal before any work")
    return count
