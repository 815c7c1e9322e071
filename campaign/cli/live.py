"""Progress people can watch, on stderr with rich: a live line on a terminal, heartbeat lines in a log.

The steps report as they go through a plain ``Callable[[str], None]`` (the
library knows nothing of terminals); ``LiveProgress`` is that callable. A
measurement can run for minutes between two lines of its own (a baseline,
a profile, a test command, an agent thinking), and a screen or a CI log that
stays blank that long looks hung. So:

* on a terminal, every line is printed and stays, and below them one
  transient line (spinner, the current activity = the last line, elapsed
  since the command began, and the ETA when the line carried one: the
  benchmark's "at most ~N s more", counted down) is redrawn by rich;
* elsewhere (a CI log, a pipe) nothing can be redrawn, so the lines are
  printed as they come, and when nothing was printed for ``HEARTBEAT_S`` a
  daemon thread prints ``  ... still <activity> (<elapsed> s)`` (``still
  working (<elapsed> s) after: <line>`` when the last line was a result,
  not work under way; elapsed counts from the command's start): no stretch
  is silent for more than about ``HEARTBEAT_S`` + 1 s, well under 10 s;
* ``quiet`` prints nothing but the lines that are warnings or errors.

Colour is rich's decision (a terminal, ``NO_COLOR``, ``FORCE_COLOR``); this
module never forces it. Progress only ever goes to stderr, so ``--json``
keeps stdout one JSON object. ``TuneProgress`` (``tune_progress.py``) is the
same machinery with a bar of runs instead of a free-text activity.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Callable

from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column
from rich.text import Text

HEARTBEAT_S = 5.0  # a line at least this often in a log (the promise: never 10 s of silence)
KEPT_WHEN_QUIET = ("warning:", "error:")  # --quiet hides progress, not trouble
ASIDES = KEPT_WHEN_QUIET + ("note:",)  # lines that report something, not the start of a new activity
_ETA = re.compile(r"at most ~(\d+(?:\.\d+)?) s more")
_TIMING = re.compile(r" \([^()]*at most ~[^()]*\)")  # "(3.1 s, at most ~12 s more)": the live line counts it itself
_MAX_ACTIVITY = 100  # characters of the last line a heartbeat repeats


def activity_of(line: str) -> str:
    """What a progress line says is running now, as a heartbeat repeats it (pure)."""
    text = _TIMING.sub("", " ".join(line.split())).rstrip(". ")
    return text if len(text) <= _MAX_ACTIVITY else text[: _MAX_ACTIVITY - 3] + "..."


def eta_of(line: str) -> float | None:
    """Seconds left that a line announces ("at most ~N s more", the benchmark's block lines), else None."""
    found = _ETA.search(line)
    return float(found.group(1)) if found else None


class LiveProgress:
    """The ``progress`` callable a command hands to its step; use as a context manager around the step.

    ``console`` defaults to rich's stderr console; ``clock`` (monotonic
    seconds) and ``heartbeat_s`` are injectable so tests need no sleeps.
    Outside the ``with`` block (or with no thread started) ``beat()`` does
    one heartbeat check by hand.
    """

    expand = True  # the live line takes the width: the activity column is cut, elapsed and ETA stay whole

    def __init__(self, console: Console | None = None, heartbeat_s: float = HEARTBEAT_S, quiet: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        self.console = console or Console(stderr=True)
        self.heartbeat_s = heartbeat_s
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.clock = clock
        self.started = self._last_printed = clock()
        self.activity = "starting"
        self.ongoing = True  # the last line announced work under way ("..."), not a result ("calibrated: ...")
        self._eta: tuple[float, float] | None = None  # (seconds announced, when)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Progress | None = None
        self._task = None

    # ------------------------------------------------------------------ lifetime

    def __enter__(self):
        self.started = self._last_printed = self.clock()
        if self.quiet:
            return self
        if self.live:
            self._bar = Progress(*self.columns(), console=self.console, transient=True, expand=self.expand,
                                 get_time=self.clock)
            self._bar.start()
            self._task = self._bar.add_task(self.activity, total=None, **self.task_fields())
        else:
            self._thread = threading.Thread(target=self._heartbeats, name="campaign-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.stop()

    # ------------------------------------------------------------------ what steps call

    def __call__(self, text: str) -> None:
        self.line(text)

    def line(self, text: str) -> None:
        """Print a progress line (above the live line); unless it is an aside, it names the activity now."""
        with self._lock:
            if self.quiet and not text.startswith(KEPT_WHEN_QUIET):
                return
            self._print(text)
            if text.startswith(ASIDES):
                return
            self.activity = activity_of(text)
            self.ongoing = text.rstrip().endswith("...")
            eta = eta_of(text)
            self._eta = None if eta is None else (eta, self.clock())
            if self._bar is not None:
                self._bar.update(self._task, description=self.activity)

    def eta_left(self) -> float | None:
        """Seconds left of the last announced ETA, counted down since it was announced."""
        if self._eta is None:
            return None
        seconds, at = self._eta
        return max(0.0, seconds - (self.clock() - at))

    def beat(self) -> bool:
        """One heartbeat check: print the heartbeat line when nothing was printed for ``heartbeat_s``."""
        with self._lock:
            if self.quiet or self.clock() - self._last_printed < self.heartbeat_s:
                return False
            text = self.heartbeat_text()
            if text is None:
                return False
            self._print(text)
            return True

    # ------------------------------------------------------------------ what a subclass may change

    def columns(self) -> tuple[ProgressColumn, ...]:
        """The live line: spinner, activity (cut to the width), elapsed, ETA."""
        return (SpinnerColumn(table_column=Column(no_wrap=True, min_width=1)),
                TextColumn("{task.description}", markup=False, table_column=Column(no_wrap=True, ratio=1)),
                TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=7)), _EtaColumn(self))

    def task_fields(self) -> dict:
        return {}

    def heartbeat_text(self) -> str | None:
        left = self.eta_left()
        eta = "" if left is None else f", at most ~{left:.0f} s more"
        timing = f"({self.clock() - self.started:.0f} s{eta})"
        if self.ongoing:
            return f"  ... still {self.activity} {timing}"
        return f"  ... still working {timing} after: {self.activity}"  # not "still calibrated: ..."

    # ------------------------------------------------------------------ internals

    def _print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        self._last_printed = self.clock()

    def _heartbeats(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat_s / 2)):
            self.beat()


class _EtaColumn(ProgressColumn):
    """The ETA the last line announced, counted down; empty when it announced none."""

    def __init__(self, owner: LiveProgress):
        super().__init__(table_column=Column(no_wrap=True))
        self.owner = owner

    def render(self, task) -> Text:
        left = self.owner.eta_left()
        return Text("" if left is None else f"at most ~{left:.0f} s more", style="progress.remaining")


def live_progress(quiet: bool = False) -> LiveProgress:
    """The reporter a command uses: ``with live_progress(quiet) as say: step(progress=say)``."""
    return LiveProgress(quiet=quiet)
