"""The study's report (scripts/bench_quality.py): counts, Wilson intervals and the README's compact table."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("bench_quality", ROOT / "scripts" / "bench_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rec(condition, tool, effect, verdict, seconds, load=1.0):
    return {"condition": condition, "metric": tool, "effect": effect, "verdict": verdict, "seconds": seconds,
            "load_after": load, "blocks": 10, "run_noise": 0.03}


def test_wilson_is_honest_at_the_edges():
    bq = load_script()
    lo, hi = bq.wilson(0, 10)
    assert lo == 0 and 0.25 < hi < 0.35  # 0/10 does not prove a rate of 0
    lo, hi = bq.wilson(10, 10)
    assert hi == 1 and 0.65 < lo < 0.75
    lo, hi = bq.wilson(5, 10)
    assert lo < 0.5 < hi


def test_compact_rows_count_false_same_and_detections(tmp_path, capsys):
    bq = load_script()
    records = [rec("quiet", "campaign", 0.0, "same", 30), rec("quiet", "campaign", 0.0, "slower", 40),
               rec("quiet", "campaign", 0.0, "inconclusive", 60), rec("quiet", "campaign", 0.05, "slower", 5),
               rec("quiet", "campaign", 0.05, "faster", 7), rec("6", "pyperf", 0.0, "faster", 50, load=7.0),
               rec("6", "pyperf", 0.05, "slower", 45, load=8.0), rec("2", "campaign", 0.05, "inconclusive", 60)]
    rows = bq.compact(bq.summarize(records))
    assert [(r["condition"], r["tool"]) for r in rows] == [("quiet", "campaign"), ("2", "campaign"), ("6", "pyperf")]
    quiet = rows[0]
    assert quiet["cells"]["aa_false"] == (1, 3) and quiet["cells"]["aa_same"] == (1, 3)
    assert quiet["cells"]["5%"] == (1, 2)  # a wrong-way verdict is not a detection
    assert rows[2]["cells"]["aa_false"] == (1, 1) and rows[2]["median_load"] == 7.5
    path = tmp_path / "bq.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert bq.main(["report", "--compact", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| quiet (1.0) | campaign | 1/3 (" in out and "| 6 bursty burners (7.5) | pyperf | 1/1 (" in out
    assert "| n/a |" in out  # pyperf never says same
