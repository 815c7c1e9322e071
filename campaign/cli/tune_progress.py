"""The tune's progress on stderr with rich: a live line on a terminal, timed lines in a log.

The machinery (the stderr console, the transient live line, the heartbeat
thread, NO_COLOR left to rich) is ``campaign.cli.live.LiveProgress``; a tune
knows more than a free-text activity, so its live line has a bar of fresh
runs done of those planned and the tune's own ETA (``campaign.tune.progress``),
and its log lines are that status: printed whenever the configuration changes
and at least every ``HEARTBEAT_S`` seconds. ``--quiet`` (and ``--json``) use no
reporter at all.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

from campaign.cli.live import HEARTBEAT_S, LiveProgress
from campaign.tune.progress import Status


class TuneProgress(LiveProgress):
    """A ``campaign.tune.progress.Reporter`` that draws on stderr; use as a context manager."""

    expand = False  # the bar has its own width

    def __init__(self, console: Console | None = None, heartbeat_s: float = HEARTBEAT_S):
        super().__init__(console, heartbeat_s)
        self._last: Status | None = None
        self._last_at = 0.0
        self._printed_what = ""

    def columns(self):
        return (SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                TextColumn("runs"), TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"))

    def task_fields(self) -> dict:
        return {"eta": "-"}

    # ---------------------------------------------------------------- Reporter

    def line(self, text: str) -> None:
        """A result line: printed and kept; the activity is what ``status`` says, not this."""
        with self._lock:
            self._print(text)

    def status(self, status: Status) -> None:
        with self._lock:
            self._last, self._last_at = status, self.clock()
            if self._bar is not None:
                eta = status.text().rsplit("ETA ", 1)[-1]
                self._bar.update(self._task, description=status.what, completed=status.runs_done,
                                 total=max(status.runs_planned, 1), eta=eta)
                return
            what = status.what.split(":")[0]  # a new configuration (not only a new block) is worth a line
            if what != self._printed_what:
                self._print_status(status)

    # ------------------------------------------------------------------ a log

    def heartbeat_text(self) -> str | None:
        last = self._last
        if last is None:
            return None
        since = self.clock() - self._last_at
        eta = None if last.eta_s is None else max(0.0, last.eta_s - since)
        status = Status(last.what, last.runs_done, last.runs_planned, last.elapsed_s + since, eta)
        self._printed_what = status.what.split(":")[0]
        return f"  ... {status.text()}"

    def _print_status(self, status: Status) -> None:
        self._print(f"  ... {status.text()}")
        self._printed_what = status.what.split(":")[0]
