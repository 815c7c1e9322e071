"""Progress people can watch (``campaign.cli.live``): lines, heartbeats, --quiet, NO_COLOR, --json.

No timing is asserted: the heartbeat is driven by a fake clock, or the slow
step waits on an Event that the heartbeat line itself sets (however slow the
machine); the commands are run for which lines exist, never how fast.
"""

from __future__ import annotations

import io
import json
import re
import threading

import pytest
from rich.console import Console

from campaign.cli import cli
from campaign.cli.live import LiveProgress, activity_of, eta_of
from loop_fixtures import campaign, cli_env, make_repo

COLOR_SGR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7]|38;[25];[\d;]+)m")  # a foreground colour


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def log_console(buf) -> Console:
    return Console(file=buf, force_terminal=False, width=80)


# --------------------------------------------------------------------------- pure helpers


def test_activity_and_eta_come_from_the_line():
    block = "block 2/5 (3.1 s, at most ~12 s more): vs last kept 1.020x (99% CI 0.99-1.05) inconclusive"
    assert eta_of(block) == 12.0
    assert activity_of(block).startswith("block 2/5: vs last kept 1.020x")  # the stale timing is dropped
    assert activity_of("recording the baseline (fast and full case)...") == "recording the baseline (fast and full case)"
    assert eta_of("TEST: fast case(s) against the baseline outputs...") is None
    assert len(activity_of("x" * 500)) <= 100


# --------------------------------------------------------------------------- a log (not a terminal)


def test_lines_pass_through_and_a_silent_step_gets_heartbeats():
    buf, clock = io.StringIO(), FakeClock()
    say = LiveProgress(log_console(buf), heartbeat_s=5, clock=clock)  # not entered: beat() by hand
    say("recording the baseline (fast and full case)...")
    clock.now += 4
    assert not say.beat()  # something was printed 4 s ago
    clock.now += 2
    assert say.beat()
    clock.now += 1
    assert not say.beat()  # the heartbeat counts as a line
    say("note: the journal was restored")  # an aside: printed, but it is not what runs
    clock.now += 5
    assert say.beat()
    lines = buf.getvalue().splitlines()
    assert lines == ["recording the baseline (fast and full case)...",
                     "  ... still recording the baseline (fast and full case) (6 s)",
                     "note: the journal was restored",
                     "  ... still recording the baseline (fast and full case) (12 s)"]


def heartbeats(*steps: tuple[str | None, float]) -> list[str]:
    """Each step prints its line (None: nothing), lets its seconds pass and must get a heartbeat; the heartbeats."""
    buf, clock = io.StringIO(), FakeClock()
    say = LiveProgress(log_console(buf), heartbeat_s=5, clock=clock)
    for line, seconds in steps:
        if line is not None:
            say(line)
        clock.now += seconds
        assert say.beat()
    return [ln for ln in buf.getvalue().splitlines() if ln.startswith("  ... ")]


def test_a_heartbeat_counts_the_announced_eta_down():
    beats = heartbeats(("block 1/6 (2.0 s, at most ~20 s more): vs last kept 1.01x inconclusive", 8), (None, 30))
    assert beats[0].startswith("  ... still working (8 s, at most ~12 s more) after: block 1/6")
    assert beats[1].startswith("  ... still working (38 s, at most ~0 s more) after: block 1/6")


def test_after_a_result_line_the_heartbeat_says_work_goes_on_not_still_that_result():
    """Seen in CI: '... still calibrated: repeat=1 warm runs per process (...)' for the minute of blocks after it."""
    beats = heartbeats(("calibrating: one discarded run of each of 2 variant(s)...", 6),
                       ("calibrated: repeat=1 warm runs per process (baseline 4968.7 ms, candidate 32.8 ms)", 6))
    assert beats == ["  ... still calibrating: one discarded run of each of 2 variant(s) (6 s)",
                     "  ... still working (12 s) after: calibrated: repeat=1 warm runs per process "
                     "(baseline 4968.7 ms, candidate 32.8 ms)"]


class Watched(io.StringIO):
    """A stream that sets an Event when a heartbeat line has been written to it."""

    def __init__(self):
        super().__init__()
        self.heartbeat = threading.Event()

    def write(self, text: str) -> int:
        n = super().write(text)
        if "... still" in self.getvalue():
            self.heartbeat.set()
        return n


def test_the_heartbeat_thread_speaks_while_a_step_is_silent():
    out = Watched()

    def slow_step(progress) -> bool:  # silent after its first line until the heartbeat has spoken
        progress("TEST: running the test command (pytest -q)...")
        return out.heartbeat.wait(120)

    with LiveProgress(log_console(out), heartbeat_s=0.05) as say:
        assert slow_step(say), "no heartbeat line while the step was silent"
    beats = [ln for ln in out.getvalue().splitlines() if ln.startswith("  ... still")]
    assert beats and beats[0].startswith("  ... still TEST: running the test command (pytest -q) (")
    assert "\x1b[" not in out.getvalue()  # a log gets no escape sequences


# --------------------------------------------------------------------------- quiet, colour, a terminal


def test_quiet_prints_nothing_but_warnings_and_errors():
    out = Watched()
    with LiveProgress(log_console(out), heartbeat_s=0.05, quiet=True) as say:
        say("recording the baseline (fast and full case)...")
        say("block 1/3 (1.0 s, at most ~4 s more): vs baseline 1.00x")
        assert not say.beat()  # never a heartbeat when quiet (also not from a thread: none is started)
        say("warning: the workload reports no outputs")
    assert out.getvalue() == "warning: the workload reports no outputs\n"


def _terminal_output(monkeypatch, no_color: bool) -> str:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    buf = io.StringIO()
    with LiveProgress(Console(file=buf, force_terminal=True, width=100)) as say:
        assert say.live
        say("block 1/3 (1.0 s, at most ~4 s more): vs baseline 1.00x")
        say._bar.refresh()  # draw the live line at least once, whatever the machine's speed
    return buf.getvalue()


def test_the_live_line_has_colour_unless_no_color_is_set(monkeypatch):
    coloured = _terminal_output(monkeypatch, no_color=False)
    assert COLOR_SGR.search(coloured), "the check must be able to fail: a terminal line has colour"
    assert "at most ~4 s more" in coloured  # the ETA column
    plain = _terminal_output(monkeypatch, no_color=True)
    assert "block 1/3" in plain and not COLOR_SGR.search(plain)


def test_the_live_line_shows_brackets_as_they_are():
    buf = io.StringIO()
    with LiveProgress(Console(file=buf, force_terminal=True, width=100)) as say:
        say("[iter 2] TEST: [/primes] case(s) against the baseline outputs...")  # not rich markup
        say._bar.refresh()
    assert buf.getvalue().count("[iter 2] TEST: [/primes] case(s)") >= 2  # the kept line and the live line


# --------------------------------------------------------------------------- the commands


LONG_COMMANDS = ["init", "profile", "try", "finish", "run", "demo", "replay", "compare", "tune"]


@pytest.mark.parametrize("name", LONG_COMMANDS)
def test_every_long_command_takes_quiet(name):
    import click

    command = cli.get_command(click.Context(cli), name)
    flags = {opt for p in command.params for opt in p.opts}
    assert {"--quiet", "-q"} <= flags


def test_json_stdout_stays_one_object_with_progress_on_stderr(tmp_path):
    repo = make_repo(tmp_path / "repo")
    # FORCE_COLOR: rich sees a terminal and draws its live line on stderr; NO_COLOR: without colour
    init = campaign(repo, "init", "--target", "campaign.toml", "--json",
                    env=cli_env(FORCE_COLOR="1", NO_COLOR="1"))
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["step_done"] == "init"
    assert "checking that the workload runs" in init.stderr and "recording the baseline" in init.stderr
    assert not COLOR_SGR.search(init.stderr)

    quiet = campaign(repo, "profile", "--quiet", "--json")
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["step"] == "profile"
    assert quiet.stderr == ""
