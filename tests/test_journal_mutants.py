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


# -- the Journal object: what lands on disk ------------------------------------------------

from campaign.loop.journal import Journal  # noqa: E402


def test_append_writes_one_sorted_line_with_every_field(tmp_path):
    journal = Journal(tmp_path / "optim" / "c")  # parent folders are created
    event = journal.append("init", {"z": 1, "a": float("nan"), "when": tmp_path}, iteration=None)
    raw = journal.path.read_text()
    assert raw.endswith("\n") and raw.count("\n") == 1
    assert list(json.loads(raw)) == ["data", "iteration", "schema", "seq", "ts", "type"]
    stored = json.loads(raw)
    assert stored["data"] == {"a": None, "when": str(tmp_path), "z": 1}  # NaN as null, a path as text
    assert stored["seq"] == 1 and stored["iteration"] is None and stored["ts"] == event["ts"] and stored["type"] == "init"
    assert journal.append("agent", {}, iteration=4)["seq"] == 2
    assert [e["iteration"] for e in journal.events()] == [None, 4]
    with pytest.raises(ValueError, match="unknown event type 'bogus'"):
        journal.append("bogus", {})


def test_a_second_torn_tail_at_the_same_seq_is_kept_beside_the_first(tmp_path):
    journal = Journal(tmp_path)
    journal.append("init", {})
    for _ in range(2):
        with open(journal.path, "ab") as fh:
            fh.write(b'{"torn')
        journal.append("agent", {})
        journal.path.write_bytes(b"".join(journal.path.read_bytes().splitlines(keepends=True)[:1]))
    assert (tmp_path / "journal.jsonl.torn-2").read_bytes() == b'{"torn'
    assert (tmp_path / "journal.jsonl.torn-2.2").read_bytes() == b'{"torn'


def test_the_copy_follows_every_append_and_heals_when_out_of_step(tmp_path):
    journal = Journal(tmp_path / "rec", copy_dir=tmp_path / "git")
    journal.append("init", {})
    journal.append("agent", {})
    copy = tmp_path / "git" / "journal.jsonl"
    assert copy.read_bytes() == journal.path.read_bytes()
    copy.write_bytes(b"junk\n")  # out of step: the next append rewrites it whole
    journal.append("agent", {})
    assert copy.read_bytes() == journal.path.read_bytes()
    assert journal.check_copy() == CopyCheck("ok", 3, 3)


def test_require_init_refuses_an_empty_or_beheaded_journal(tmp_path):
    journal = Journal(tmp_path, require_init=True)
    journal.path.write_bytes(b'{"sch')
    with pytest.raises(JournalError) as info:
        journal.read()
    assert str(info.value) == (
        f"{journal.path} holds no whole event, not even the campaign's `init` (an init killed while writing it, "
        "or a file emptied). Start the campaign again with `campaign init --target SPEC` (the 5 bytes found are "
        "kept as journal.jsonl.torn-1), or restore the journal from git.")
    journal.path.write_bytes(b"")
    with pytest.raises(JournalError, match=r"--target SPEC`, or restore"):
        journal.read()
    journal.path.write_bytes(line(1))
    with pytest.raises(JournalError) as info:
        journal.read()
    assert str(info.value) == (
        f"{journal.path}: line 1 is a 'agent' event, not the campaign's `init`: the journal lost its beginning "
        "(deleted or replaced, e.g. by an agent or the code under optimization). It is never repaired silently: "
        f"restore it from git (`git log -- {journal.path}`), then run the command again.")
    assert Journal(tmp_path).read().events[0]["type"] == "agent"  # only a campaign journal needs its init
    assert Journal(tmp_path / "none", require_init=True).read().events == []  # no journal yet: nothing to refuse


def test_a_beheaded_journal_points_at_its_copy(tmp_path):
    (tmp_path / "git").mkdir()
    (tmp_path / "git" / "journal.jsonl").write_bytes(line(1, "init"))
    journal = Journal(tmp_path / "rec", copy_dir=tmp_path / "git", require_init=True)
    journal.record_dir.mkdir()
    journal.path.write_bytes(line(1))
    with pytest.raises(JournalError, match=f"restore it from its protected copy {tmp_path / 'git' / 'journal.jsonl'} or from git"):
        journal.read()


def _with_copy(tmp_path, journal_lines, copy_lines):
    journal = Journal(tmp_path / "rec", copy_dir=tmp_path / "git", require_init=True)
    journal.record_dir.mkdir(exist_ok=True)
    (tmp_path / "git").mkdir(exist_ok=True)
    if journal_lines is not None:
        journal.path.write_bytes(b"".join(line(i + 1, "init" if i == 0 else "agent") for i in range(journal_lines)))
    copy = b"".join(line(i + 1, "init" if i == 0 else "agent") for i in range(copy_lines))
    journal.copy_path.write_bytes(copy)
    return journal, copy


def test_read_protected_takes_lost_events_from_the_copy(tmp_path):
    journal, _ = _with_copy(tmp_path, 1, 3)
    contents = journal.read_protected()
    assert [e["seq"] for e in contents.events] == [1, 2, 3] and contents.from_copy == 2
    assert journal.read().events[-1]["seq"] == 1  # read-only: the journal itself is untouched
    journal, _ = _with_copy(tmp_path, 3, 3)
    assert journal.read_protected().from_copy == 0 and len(journal.read_protected().events) == 3
    assert Journal(tmp_path / "plain").read_protected().events == []  # no copy kept: the journal alone
    journal, _ = _with_copy(tmp_path, 3, 2)  # one event ahead of the copy (a crash between the writes)
    assert [e["seq"] for e in journal.read_protected().events] == [1, 2, 3]
    journal.copy_path.unlink()  # no copy yet
    assert [e["seq"] for e in journal.read_protected().events] == [1, 2, 3]


def test_read_protected_refuses_a_diverged_journal(tmp_path):
    journal, _ = _with_copy(tmp_path, 2, 2)
    journal.path.write_bytes(line(1, "init") + line(2, "think"))
    with pytest.raises(JournalError) as info:
        journal.read_protected()
    assert str(info.value) == (
        f"{journal.path} differs from its protected copy {journal.copy_path} from line 2 on (it was edited or "
        "replaced outside campaign). The journal is the campaign's record and is never repaired silently: compare "
        f"the two, keep the right one as journal.jsonl (`cp {journal.copy_path} {journal.path}` restores the copy) "
        "and run the command again.")


def test_restore_from_copy_keeps_the_replaced_journal(tmp_path):
    journal, copy = _with_copy(tmp_path, 1, 3)
    old = journal.path.read_bytes()
    assert journal.restore_from_copy() == (2, journal.path.with_name("journal.jsonl.replaced-2"))
    assert journal.path.read_bytes() == copy and journal.path.with_name("journal.jsonl.replaced-2").read_bytes() == old
    journal.path.write_bytes(old)
    assert journal.restore_from_copy() == (2, journal.path.with_name("journal.jsonl.replaced-2.2"))
    journal.path.unlink()
    assert journal.restore_from_copy() == (3, None)  # nothing to keep
    assert journal.path.read_bytes() == copy
