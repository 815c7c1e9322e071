"""The tune's progress on stderr with rich: a live line on a terminal, timed lines in a log.

On a terminal: one live line (spinner, what runs, a bar of fresh runs done
of those planned, elapsed, ETA) that rich redraws several times a second,
with the result lines printed above it. Elsewhere (CI logs, a pipe) nothing
can be redrawn, so the status is printed as a line whenever the
configuration changes and at least every ``HEARTBEAT_S`` seconds, so that no
stretch of a tune is silent for longer. ``NO_COLOR`` is honoured by rich;
``--quiet`` (and ``--json``) use no reporter at all.
"""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from campaign.tune.progress import Status

HEARTBEAT_S = 5.0  # a log line at least this often while a tune runs (the promise: never 10 s of silence)


class TuneProgress:
    """A ``campaign.tune.progress.Reporter`` that draws on stderr; use as a context manager."""

    def __init__(self, console: Console | None = None, heartbeat_s: float = HEARTBEAT_S):
        self.console = console or Console(stderr=True)
        self.heartbeat_s = heartbeat_s
        self.live = self.console.is_terminal
        self._lock = threading.Lock()
        self._last: Status | None = None
        self._last_at = 0.0
        self._last_printed = 0.0
        self._printed_what = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> "TuneProgress":
        if self.live:
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("runs"), TimeElapsedColumn(),
                                 TextColumn("ETA {task.fields[eta]}"), console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None, eta="-")
        else:
            self._last_printed = time.monotonic()
            self._thread = threading.Thread(target=self._heartbeat, name="tune-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.stop()

    # ---------------------------------------------------------------- Reporter

    def line(self, text: str) -> None:
        with self._lock:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
            self._last_printed = time.monotonic()

    def status(self, status: Status) -> None:
        with self._lock:
            self._last, self._last_at = status, time.monotonic()
            if self._bar is not None:
                eta = status.text().rsplit("ETA ", 1)[-1]
                self._bar.update(self._task, description=status.what, completed=status.runs_done,
                                 total=max(status.runs_planned, 1), eta=eta)
                return
            what = status.what.split(":")[0]  # a new configuration (not only a new block) is worth a line
            if what != self._printed_what:
                self._print_status(status)

    # ------------------------------------------------------------------ a log

    def _print_status(self, status: Status) -> None:
        self.console.print(f"  ... {status.text()}", markup=False, highlight=False, soft_wrap=True)
        self._printed_what = status.what.split(":")[0]
        self._last_printed = time.monotonic()

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat_s)):
            with self._lock:
                now = time.monotonic()
                if self._last is None or now - self._last_printed < self.heartbeat_s:
                    continue
                last, since = self._last, now - self._last_at
                eta = None if last.eta_s is None else max(0.0, last.eta_s - since)
                self._print_status(Status(last.what, last.runs_done, last.runs_planned, last.elapsed_s + since, eta))
