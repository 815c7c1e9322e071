"""The small scripts that print the numbers the docs quote: they run and print what they claim to."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"_script_{name}", SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def write_record(root: Path) -> Path:
    rec = root / "optim" / "toy"
    rec.mkdir(parents=True)
    events = [
        {"seq": 1, "ts": "2026-11-30T03:00:00+00:00", "type": "init", "data": {}},
        {"seq": 2, "ts": "2026-11-30T03:00:05+00:00", "type": "baseline",
         "data": {"environment": {"cpu_count": 2, "load_avg": [3.5, 2.0, 1.0]}}},
        {"seq": 3, "ts": "2026-11-30T03:02:10+00:00", "type": "benchmark",
         "data": {"environment": {"cpu_count": 2}, "load": {"blocks": [{"load": 1.25}, {"load": 2.5}]}}},
        {"seq": 4, "ts": "2026-11-30T03:03:15+00:00", "type": "finish", "data": {}},
    ]
    (rec / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (rec / "baseline.json").write_text(json.dumps({"cases": {"fast": {"warm_s": 0.25}, "full": {"warm_s": 2.0}}}))
    return rec


def test_record_facts_reads_span_load_and_baseline(tmp_path, capsys):
    mod = load_script("record_facts")
    f = mod.facts(write_record(tmp_path))
    assert f["span_s"] == 195.0 and f["events"] == 4 and f["cores"] == [2]
    assert f["load_1min"] == [1.25, 3.5] and f["benchmark_blocks"] == 2
    assert f["baseline_warm_s"] == {"fast": 0.25, "full": 2.0}
    assert mod.main([str(tmp_path / "optim" / "toy")]) == 0
    out = capsys.readouterr().out
    assert "3 min 15 s" in out and "load average 1.2-3.5" in out and "case full: 2.000 s" in out


def test_simulate_decisions_counts_false_verdicts_per_condition(capsys):
    mod = load_script("simulate_decisions")
    assert mod.main(["--runs", "2", "--tiny-runs", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(rows) == len(mod.DEFAULT_BUDGET) + len(mod.TINY_BUDGET)
    assert [r["runs"] for r in rows] == [2] * len(mod.DEFAULT_BUDGET) + [4] * len(mod.TINY_BUDGET)
    assert all(0 <= r["false"] <= r["runs"] for r in rows)
    assert all(r["median_blocks"] >= 3 for r in rows if r["budget"].startswith("default"))
