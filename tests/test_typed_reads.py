"""Readers of recorded data and build configuration go through one typed view, not ``(x or {}).get(``.

The typed record gives ``try --more``'s history, LOG's memory judgement and init's
environment as attributes (absent in an older record: empty, never a crash); the
guards' refusal reads an attempt once (``GuardRecord``); build configuration is read
through ``toml_table``, so a string where a table belongs is no table, not a crash.
"""

from __future__ import annotations

from campaign.loop import record
from campaign.loop.record_place import discovers_top_level_dirs
from campaign.measure.integrity import GuardRecord, guards_ran, refusal
from campaign.plugins.project_env import import_roots, toml_table


def test_toml_table_walks_tables_and_reads_anything_else_as_none():
    doc = {"tool": {"setuptools": {"packages": {"find": {"where": ["src"]}}}, "hatch": "not a table"}}
    assert toml_table(doc, "tool", "setuptools", "packages", "find") == {"where": ["src"]}
    assert toml_table(doc, "tool", "hatch", "build") == {}
    assert toml_table(doc, "build-system") == {}
    assert toml_table(None, "tool") == {}


def test_a_string_where_a_build_table_belongs_is_no_table_not_a_crash(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool]\nhatch = "wheel"\nsetuptools = "yes"\n')
    assert import_roots(tmp_path) == [tmp_path.resolve()]
    text = (tmp_path / "pyproject.toml").read_text()
    assert discovers_top_level_dirs(text, None, None, has_src_dir=False) is True
    assert discovers_top_level_dirs('build-system = "setuptools"\n', None, None, has_src_dir=False) is True


def test_the_benchmark_names_its_extensions_and_an_older_one_has_none():
    old = record.load_data("benchmark", {"verdict": "inconclusive", "speedup": 1.01})
    assert old.extended.count == 0 and old.extended.history is None and old.samples is None
    extended = record.load_data("benchmark", {
        "verdict": "faster", "samples": {"ratios": [1.1]}, "vs_baseline": {"speedup": 2.0, "samples": {"ratios": [2.0]}},
        "extended": {"history": [{"blocks_before": 4, "blocks_added": 8}], "metric": "cpu", "level": 0.99}})
    assert extended.extended.count == 1 and extended.extended.metric == "cpu"
    assert extended.vs_baseline.samples == {"ratios": [2.0]} and extended.samples == {"ratios": [1.1]}
    assert extended["extended"]["history"][0]["blocks_added"] == 8  # still the JSON it was read from


def test_log_memory_refused_and_init_environment():
    assert record.load_data("log", {"kept": False, "memory": {"refused": True}}).memory_refused is True
    assert record.load_data("log", {"kept": True, "memory": {"refused": False}}).memory_refused is False
    assert record.load_data("log", {"kept": True}).memory_refused is False  # an older record: no memory judged
    env = {"python": "/usr/bin/python3", "how": "campaign's own"}
    assert record.load_data("init", {"name": "x", "environment": env}).environment == env
    assert record.load_data("init", {"name": "x"}).environment is None


def test_guard_record_reads_an_attempt_once():
    bench = {"integrity": {"refused": None, "guards": [{"name": "warm only", "ran": True, "passed": True}]},
             "full": {"integrity": {"refused": "the full case's clock moved"}},
             "suspicion": {"heldout_full": None}}
    seen = GuardRecord.of(bench, {"heldout": None})
    assert seen.refused is None and seen.full_refused == "the full case's clock moved"
    assert [g["name"] for g in seen.guards] == ["warm only"] and seen.suspicion == {"heldout_full": None}
    assert refusal(bench, {}) == "the full case's clock moved"
    assert GuardRecord.of(None, None) == GuardRecord(None, None, (), None, None, None, None)
    assert refusal(None) is None
    rows = guards_ran({}, {"integrity": None, "suspicion": None})
    assert {"name": "held-out inputs", "ran": False, "passed": True, "speedup": None, "clock": None} in rows
