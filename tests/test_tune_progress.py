"""The tune's progress: the run plan and ETA (pure), and the lines people see (rich on stderr).

No timing is asserted: the heartbeat test waits for a line to appear, however
slow the machine, and the end-to-end test only checks which lines exist.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from campaign.cli.tune_progress import TuneProgress
from campaign.tune.progress import RUNS_PER_BLOCK, Status, Tracker, as_reporter, eta_seconds, planned_configurations

FIXTURE = Path(__file__).parent / "tune_fixtures" / "tunefix.py"
COLOR_SGR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7]|38;[25];[\d;]+)m")  # a foreground colour


class Recorder:
    def __init__(self):
        self.lines, self.statuses = [], []

    def line(self, text):
        self.lines.append(text)

    def status(self, status):
        self.statuses.append(status)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


# --------------------------------------------------------------------------- the plan (pure)


def test_eta_is_the_pace_so_far_times_the_runs_left():
    assert eta_seconds(10.0, 0, 40) is None  # no pace before the first run
    assert eta_seconds(10.0, 5, 40) == pytest.approx(70.0)
    assert eta_seconds(10.0, 50, 40) == 0.0


def test_planned_configurations_per_strategy():
    space = {"workers": [1, 2, 4], "chunk": [1, 64]}
    assert planned_configurations("grid", space, budget=16) == 5
    assert planned_configurations("quick", space, budget=16) == 3 + 1  # each value alone, then the combination
    assert planned_configurations("quick", {"workers": [1, 2, 4]}, budget=16) == 2
    assert planned_configurations("smart", space, budget=3) == 3
    assert planned_configurations("smart", space, budget=16) == 5


def test_tracker_counts_runs_and_gives_back_what_a_configuration_did_not_need():
    rec, clock = Recorder(), FakeClock()
    tracker = Tracker(rec, blocks=8, clock=clock)
    tracker.plan(3 + 2 * 8 * RUNS_PER_BLOCK)  # calibration + A/A pair + two configurations
    assert rec.statuses == []  # a plan alone says nothing about what runs
    tracker.doing("workers=2: block 1/8")
    clock.now += 12.0
    tracker.runs_done(3)
    last = rec.statuses[-1]
    assert (last.what, last.runs_done, last.runs_planned) == ("workers=2: block 1/8", 3, 67)
    assert last.elapsed_s == pytest.approx(12.0) and last.eta_s == pytest.approx(4.0 * 64)
    tracker.configuration_done({"cached": True})  # 32 planned runs not needed
    assert rec.statuses[-1].runs_planned == 35
    tracker.configuration_done({"cached": False, "blocks": 2})  # stopped early after 2 of 8 blocks
    assert rec.statuses[-1].runs_planned == 35 - 24
    tracker.runs_done(100)  # more runs than planned never shows a negative ETA
    assert rec.statuses[-1].runs_planned == 103 and rec.statuses[-1].eta_s == 0.0


def test_status_text_names_what_runs_elapsed_and_eta():
    text = Status("workers=8: block 2/8", 14, 60, 75.0, 3725.0).text()
    assert text == "workers=8: block 2/8 - run 14/60, elapsed 1:15, ETA 1:02:05"
    assert Status("calibrating", 0, 60, 1.0, None).text().endswith("ETA -")


def test_a_plain_function_still_gets_the_result_lines():
    got = []
    reporter = as_reporter(got.append)
    reporter.line("workers=8: 4.0x")
    reporter.status(Status("x", 1, 2, 1.0, 1.0))
    assert got == ["workers=8: 4.0x"]


# --------------------------------------------------------------------------- rendering


def _render(monkeypatch, no_color: bool) -> str:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    buf = io.StringIO()
    with TuneProgress(Console(file=buf, force_terminal=True, width=100)) as progress:
        progress.line("tune sleepmap (grid, preset fast, case fast)")
        progress.status(Status("workers=8: block 1/3", 4, 27, 2.0, 11.0))
    return buf.getvalue()


def test_the_live_line_has_colour_unless_no_color_is_set(monkeypatch):
    coloured = _render(monkeypatch, no_color=False)
    assert COLOR_SGR.search(coloured), "the check must be able to fail: a terminal line has colour"
    plain = _render(monkeypatch, no_color=True)
    assert "tune sleepmap" in plain and not COLOR_SGR.search(plain)


def test_a_log_gets_a_status_line_again_while_nothing_else_happens():
    buf = io.StringIO()
    with TuneProgress(Console(file=buf, force_terminal=False, width=200), heartbeat_s=0.2) as progress:
        progress.status(Status("analytical hint: a dry run of the parallel map", 3, 27, 2.0, 20.0))
        deadline = time.monotonic() + 60  # however loaded the machine: wait for the heartbeat, assert no speed
        while buf.getvalue().count("analytical hint") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = [ln for ln in buf.getvalue().splitlines() if "analytical hint" in ln]
    assert len(lines) >= 2 and all("elapsed" in ln and "ETA" in ln for ln in lines)
    assert "\x1b[" not in buf.getvalue()  # a log gets no escape sequences


# --------------------------------------------------------------------------- the command


def _tune(ws, *args, **env_extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ws), os.environ.get("PYTHONPATH")])),
               **env_extra)
    for var in ("NO_COLOR", "FORCE_COLOR"):
        if var not in env_extra:
            env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "campaign", "tune", "tunefix:SleepMap", "--knob", "workers=1,8",
                           "--strategy", "grid", "--dir", str(ws), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_campaign_tune_shows_progress_and_quiet_silences_it(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "tunefix.py")
    p = _tune(tmp_path)
    assert p.returncode == 0, p.stderr
    status = [ln for ln in p.stderr.splitlines() if ln.startswith("  ... ")]
    assert any(ln.startswith("  ... calibrating warm repeats") for ln in status), p.stderr
    assert any("workers=8: block 1/3" in ln for ln in status), p.stderr
    assert all(re.search(r"run \d+/\d+, elapsed \d+:\d\d, ETA (\d+:\d\d|-)$", ln) for ln in status), status
    results = [ln for ln in p.stderr.splitlines() if ln.startswith("  workers=8: ")]  # the result line stays
    assert results and "faster" in results[-1], p.stderr  # 8 threads over 5 ms sleeps: a sure win
    assert "Use workers=8" in p.stdout, p.stdout  # and the report recommends what the result line found

    quiet = _tune(tmp_path, "--quiet", "--refresh")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert "tune sleepmap" in quiet.stdout  # the report itself is not progress

    cached = _tune(tmp_path, FORCE_COLOR="1", NO_COLOR="1")  # a terminal as rich sees it, colour refused
    assert cached.returncode == 0 and "tune sleepmap" in cached.stderr
    assert not COLOR_SGR.search(cached.stderr)
