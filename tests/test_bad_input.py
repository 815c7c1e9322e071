"""Bad input is a clear error, never a traceback (issue 11 item 11).

* ``timeout_s = nan`` / ``inf`` in campaign.toml, or a NaN timeout given to
  ``run_process``;
* a journal event whose ``data`` has a wrong type (a string where a number
  belongs, a one-element CI, a list where a phase name belongs...): every
  event is validated against its JSON Schema when the journal is read, and
  the error names the line.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from campaign.errors import JournalError, MeasureError
from campaign.loop.journal import parse_journal
from campaign.measure.procs import run_process
from campaign.plugins.target import TargetError
from campaign.plugins.toml_target import load_toml_target
from records import clean_record

TOML = """\
[target]
name = "t"
scope = ["a.py"]
run = "echo {{}}"
timeout_s = {timeout}
"""


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_toml_timeout_that_is_not_a_finite_number_is_refused(tmp_path, value):
    path = tmp_path / "campaign.toml"
    path.write_text(TOML.format(timeout=value))
    with pytest.raises(TargetError, match="timeout_s"):
        load_toml_target(path)


def test_run_process_refuses_a_nan_timeout_with_a_user_error(tmp_path):
    with pytest.raises(MeasureError, match="timeout"):
        run_process("true", tmp_path, math.nan)


def test_run_process_takes_an_infinite_timeout_as_no_limit(tmp_path):
    r = run_process("echo ok", tmp_path, math.inf)
    assert r.returncode == 0 and r.stdout.strip() == "ok" and not r.timed_out


# (event type, iteration, key, wrong value): each one crashed a reader before (stopping.postmortem_required,
# render._ci / _x / _iteration_view, Campaign._needed_speedup / log) or was silently misread
BAD_DATA = [
    ("think", 1, "predicted_speedup", "fast"),
    ("benchmark", 1, "ci", [1.7]),
    ("benchmark", 1, "ci", "wide"),
    ("benchmark", 3, "speedup", "2x"),
    ("benchmark", 3, "vs_baseline", [2.0]),
    ("init", None, "goal_speedup", "2"),
    ("init", None, "postmortem_factor", "1.5"),
    ("plan", 1, "phase", ["compute"]),
    ("think", 3, "options", 3),
    ("test", 1, "failures", ["boom"]),
    ("test", 1, "passed", "no"),
    ("log", 2, "postmortem", "forgot"),
    ("log", 1, "kept", "yes"),
    ("finish", None, "ci", [2.5, "x"]),
    ("profile", None, "shares", {"load": "most"}),
]


def _bad_journal(kind: str, iteration: int | None, key: str, value) -> tuple[bytes, int]:
    b = clean_record()
    event = b.find(kind, iteration)
    event["data"][key] = value
    lines = []
    for seq, e in enumerate(b.events, start=1):
        e["seq"] = seq
        e.setdefault("ts", "2026-11-23T04:00:00+00:00")
        lines.append(json.dumps(e, sort_keys=True))
    return ("\n".join(lines) + "\n").encode(), b.events.index(event) + 1


def test_the_clean_record_passes_validation():
    b = clean_record()
    for seq, e in enumerate(b.events, start=1):
        e["seq"], e["ts"] = seq, "2026-11-23T04:00:00+00:00"
    data = "".join(json.dumps(e) + "\n" for e in b.events).encode()
    assert len(parse_journal(data).events) == len(b.events)


def test_the_shipped_record_passes_validation_and_still_renders_byte_for_byte():
    from campaign.loop.render import render_all

    record = Path(__file__).resolve().parent.parent / "optim" / "weight_search"
    events = parse_journal((record / "journal.jsonl").read_bytes()).events
    for name, text in render_all(events).items():
        assert (record / name).read_text() == text, name


@pytest.mark.parametrize("kind,iteration,key,value", BAD_DATA)
def test_an_event_with_a_wrongly_typed_field_is_refused_naming_its_line(kind, iteration, key, value):
    data, line = _bad_journal(kind, iteration, key, value)
    with pytest.raises(JournalError) as info:
        parse_journal(data)
    message = str(info.value)
    assert f"line {line}" in message and key in message


def test_a_wrongly_typed_envelope_is_refused_naming_its_line():
    data, _ = _bad_journal("think", 1, "risk", "low")
    events = [json.loads(x) for x in data.decode().splitlines()]
    events[4]["iteration"] = "1"
    data = "".join(json.dumps(e) + "\n" for e in events).encode()
    with pytest.raises(JournalError, match="line 5"):
        parse_journal(data)


@pytest.mark.parametrize("command", ["status", "render"])
def test_the_cli_names_the_line_instead_of_a_traceback(tmp_path, command):
    data, line = _bad_journal("benchmark", 1, "ci", [1.7])
    record = tmp_path / "optim" / "crafted"
    record.mkdir(parents=True)
    (record / "journal.jsonl").write_bytes(data)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    r = subprocess.run([sys.executable, "-m", "campaign", command], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert f"line {line}" in r.stderr


def test_the_framework_never_writes_an_event_it_would_refuse_to_read(tmp_path):
    from campaign.loop.journal import Journal

    journal = Journal(tmp_path)
    journal.append("init", {"name": "x", "goal_speedup": 2.0})
    before = journal.path.read_bytes()
    with pytest.raises(ValueError, match="predicted_speedup"):
        journal.append("think", {"predicted_speedup": "fast"}, 1)
    assert journal.path.read_bytes() == before
