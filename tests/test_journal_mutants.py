"""The journal's pure parts at their edges: exact error messages, torn-tail offsets, the copy comparison.

Written against the surviving mutants of ``campaign/loop/journal.py`` (docs/mutation.md).
"""

import json
import os

import pytest

from campaign.errors import JournalError
from campaign.loop.journal import CopyCheck, TornTail, command_line, compare_copy, holder_alive, now_iso, parse_journal


def line(number, type_="agent", **extra):
    event = {"schema": 1, "seq": number, "ts": "t", "type": type_, "iteration": None, "data": {}}
    event.update(extra)
    return json.dumps(event).encode() + b"\n"


def invalid(number, problem, name="j.jsonl"):
    return (f"{name}: line {number} is not a valid campaign event ({problem}). The journal is the "
            f"campaign's record and is never repaired silently: restore it from git or fix line "
            f"{number} by hand.")


@pytest.mark.parametrize("bad, problem", [
    ({"schema": None}, "it has no integer 'schema'"),
    ({"seq": 5}, "its seq is 5 where 2 was expected"),
    ({"type": "bogus"}, "its type 'bogus' is not a known event type"),
    ({"data": [1]}, "its 'data' is not an object"),
])
def test_each_invalid_event_is_named_with_its_line(bad, problem):
    data = line(1) + line(2, **bad) + line(3)  # line 3 makes line 2 a middle line, not a torn tail
    with pytest.raises(JournalError) as info:
        parse_journal(data, "j.jsonl")
    assert str(info.value) == invalid(2, problem)


def test_a_non_object_line_in_the_middle_is_corrupt():
    with pytest.raises(JournalError) as info:
        parse_journal(line(1) + b"[1, 2]\n" + line(2), "j.jsonl")
    assert str(info.value).startswith("j.jsonl: line 2 is corrupt (not a JSON object) and is not the last line")


def test_torn_tail_without_newline_has_its_offset_and_size():
    head = line(1) + line(2)
    contents = parse_journal(head + b'{"sche', "j.jsonl")
    assert [e["seq"] for e in contents.events] == [1, 2]
    assert contents.torn == TornTail(3, len(head), 6)


def test_invalid_newline_terminated_last_line_is_torn_too():
    head = line(1)
    contents = parse_journal(head + b"garbage\n")
    assert contents.torn == TornTail(2, len(head), 8)
    contents = parse_journal(head + b"[1]\n")  # valid JSON, not an object: still an interrupted write
    assert contents.torn == TornTail(2, len(head), 4)


def test_utf8_events_parse():
    contents = parse_journal(line(1, data={"note": "häufig – 速い"}))
    assert contents.events[0]["data"] == {"note": "häufig – 速い"} and contents.torn is None


def test_torn_message():
    assert TornTail(3, 10, 6).message("optim/c/journal.jsonl") == (
        "optim/c/journal.jsonl: line 3 is torn (6 bytes, an interrupted write); the campaign continues from the "
        "last whole event, and the next command moves the torn bytes to journal.jsonl.torn-<seq> and truncates "
        "the journal.")


A, B, C, X = b'{"a":1}\n', b'{"b":2}\n', b'{"c":3}\n', b'{"x":0}\n'


@pytest.mark.parametrize("journal, copy, check", [
    (A + B, None, CopyCheck("new", 2, 0)),
    (A + B, A + B, CopyCheck("ok", 2, 2)),
    (A + B + b'{"par', A + B, CopyCheck("ok", 2, 2)),  # a torn tail is not an event
    (A + B, A, CopyCheck("behind", 2, 1, 3)),
    (A + B + C, A, CopyCheck("diverged", 3, 1, 3)),  # two events the copy never saw
    (A, A + B + C, CopyCheck("restorable", 1, 3)),
    (None, A + B, CopyCheck("restorable", 0, 2)),
    (A + B + C, A + X + C, CopyCheck("diverged", 3, 3, 2)),
    (A + X, A + B + C, CopyCheck("diverged", 2, 3, 2)),
])
def test_compare_copy(journal, copy, check):
    assert compare_copy(journal, copy) == check


@pytest.mark.parametrize("argv, text", [
    ([], "campaign ..."),
    (["/usr/bin/campaign", "try", "--full"], "campaign try --full"),
    (["/x/campaign/__main__.py", "log"], "campaign log"),
    (["/usr/bin/python3.11", "-m", "campaign", "decide"], "campaign decide"),
    (["python", "script.py", "x"], "campaign script.py x"),
    (["/bin/tool", "a", "b"], "/bin/tool a b"),
])
def test_command_line(argv, text):
    assert command_line(argv) == text


def test_holder_alive():
    assert holder_alive({"pid": os.getpid(), "since": now_iso()})
    assert holder_alive({"pid": os.getpid(), "since": "not a time"})  # an unreadable time: trust the pid
    assert not holder_alive({"pid": os.getpid(), "since": "2000-01-01T00:00:00+00:00"})  # a reused pid
    assert not holder_alive({"pid": None})
    assert not holder_alive({"pid": 2 ** 22 + 12345})


def test_now_iso_is_utc_with_microseconds():
    stamp = now_iso()
    assert stamp.endswith("+00:00") and len(stamp.split(".")[1]) == len("123456+00:00")
