"""The review reads every event's data through the typed record (issue 25), and reads what it read before.

``campaign.review`` used to read ``(event["data"] or {}).get(key)`` (``record_events.data_of``); it now reads
``campaign.loop.record``'s class of each event. The facts the review needed that had no attribute are fields
of those classes now, absent (None) in records made before them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from campaign.loop import record
from campaign.loop.journal import parse_journal
from campaign.review import record_events

REVIEW = Path(record_events.__file__).resolve().parent
OLD = Path(__file__).resolve().parent / "data" / "weight_search_051530a"

RAW_DATA_READS = re.compile(r"""data_of\(|\[["']data["']\]|\.get\(["']data["']""")


def test_no_review_module_reads_an_events_data_as_a_raw_dict():
    offenders = [f"{path.name}:{n}: {line.strip()}" for path in sorted(REVIEW.glob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), start=1) if RAW_DATA_READS.search(line)]
    assert offenders == []


def _event(kind: str, data: dict, seq: int = 1) -> dict:
    return {"schema": 1, "seq": seq, "ts": "t", "type": kind, "iteration": 1, "data": data}


def test_the_facts_the_review_reads_are_typed_fields():
    guards = {"guards": [{"name": "outputs", "ran": True, "passed": True}], "refused": None}
    bench = record.load_event(_event("benchmark", {
        "speedup": 2.0, "blocks": 4, "block_cost": {"block_s": 0.5, "calibration_s": 0.1}, "guards": guards,
        "suspicion": {"why": "beyond Amdahl"}, "candidate": {"warm_s": 1.0, "block_s": 1.2, "phases": {"a": 0.4}}})).data
    assert bench.block_cost == {"block_s": 0.5, "calibration_s": 0.1} and bench.guards == guards
    assert bench.suspicion == {"why": "beyond Amdahl"}
    assert (bench.candidate.block_s, bench.candidate.phases) == (1.2, {"a": 0.4})
    memory = {"before_kb": 10, "after_kb": 12, "ratio": 1.2}
    assert record.load_event(_event("log", {"kept": True, "memory": memory})).data.memory == memory
    cases = {"fast": {"warm_s": 0.2}, "full": {"warm_s": 3.0}}
    assert record.load_event(_event("baseline", {"cases": cases})).data.cases == cases
    check = record.load_event(_event("validate", {"passed": False, "out_of_scope": ["x.py"]})).data
    assert check.out_of_scope == ["x.py"]
    assert record.load_event(_event("init", {"target": {"name": "t", "scope": ["src/**"]}})).data.scope == ["src/**"]
    assert record.load_event(_event("init", {"target": "t"})).data.scope == []  # a target recorded by name


def test_the_old_record_reads_none_where_it_predates_a_field():
    loaded = [record.load_event(e) for e in parse_journal((OLD / "journal.jsonl").read_bytes()).events]
    benches = [e.data for e in loaded if e.type == "benchmark"]
    assert benches and all(b.guards is None and b.suspicion is None for b in benches)
    assert all(e.data.memory is None for e in loaded if e.type == "log")


def test_typed_gives_an_empty_payload_for_no_event_and_refuses_the_wrong_class():
    empty = record_events.typed(None, record.Benchmark)
    assert isinstance(empty, record.Benchmark) and empty.speedup is None and not empty
    think = _event("think", {"predicted_speedup": 1.5})
    assert record_events.typed(think, record.Think).predicted_speedup == 1.5
    with pytest.raises(TypeError, match="not Benchmark"):
        record_events.typed(think, record.Benchmark)


def test_a_validate_event_whose_failures_are_no_list_is_reviewed_as_main_reviewed_it():
    """No schema checks ``validate`` (FINISH's full-case TEST); main's review read its failures only when it had
    failed, so a passed one with ``failures: 5`` was reviewed. Loading it typed must not raise either."""
    from campaign.review import record_summary
    from records import clean_record

    assert record.load_event(_event("validate", {"passed": True, "failures": 5})).data.failures == ()
    b = clean_record()
    b.add("validate", None, case="full", commit="c4", passed=True, failures=5, test_command="x")
    full = record_summary.full_case_result(b.events)
    assert full is not None and full["failure"] is None and full["case"] == "full"


NULL_FIELDS = Path(__file__).resolve().parent / "data" / "review_null_fields.json"


def null_field_findings() -> dict[str, list]:
    """The review's findings on tests/records.py's clean record with one data field of one event null or missing
    (only the variants that have findings; the clean record has none)."""
    import copy

    from campaign.review import lint
    from records import clean_record

    events = clean_record().events
    out = {}
    for i, event in enumerate(events):
        for key in event["data"]:
            for tag in ("null", "missing"):
                changed = copy.deepcopy(events)
                if tag == "null":
                    changed[i]["data"][key] = None
                else:
                    del changed[i]["data"][key]
                found = [[f.rule, f.iteration, f.message] for f in lint.check(changed)]
                if found:
                    out[f"{i} {event['type']} {key} {tag}"] = found
    return out


def test_a_null_or_missing_field_gives_the_findings_it_gave_before_the_typed_record():
    """tests/data/review_null_fields.json was written by the review of main at b94e064, which read
    ``(event["data"] or {}).get(key)``; regenerate it (``python tests/test_review_typed.py``) only when a
    finding's text changes on purpose, or the clean record does."""
    assert null_field_findings() == json.loads(NULL_FIELDS.read_text())


if __name__ == "__main__":
    NULL_FIELDS.write_text(json.dumps(null_field_findings(), indent=1, sort_keys=True) + "\n")
