"""scripts/parallel_throughput.py's pure parts: the wasted-work target, its cuts' patches, the verdicts' split."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from loop_fixtures import git
from run_fixtures import BASE

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "parallel_throughput.py"


def load():
    spec = importlib.util.spec_from_file_location("_script_parallel_throughput", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def compute(code: str) -> int:
    scope: dict = {}
    exec(compile(code, "work.py", "exec"), scope)
    return scope["compute"](1000)


def test_wasted_work_keeps_the_answer_and_each_cut_removes_one_call():
    mod = load()
    code = mod.wasted_base(3, 1.5)
    assert compute(code) == compute(BASE)
    assert code.count("  # unit") == 3


def cut(code: str, unit: int) -> str:
    return "".join(line for line in code.splitlines(True) if not line.endswith(f"# unit {unit}\n"))


def test_patches_planned_on_the_same_base_apply_on_top_of_each_other(tmp_path):
    """Two cuts and an A/A planned before any was kept: each still applies once the others are (no 3-way)."""
    mod = load()
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = mod.wasted_base(3, 1.5)
    (repo / "work.py").write_text(base)
    git(repo, "add", "-A")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "base")
    patches = []
    for i, changed in enumerate([cut(base, 1), cut(base, 2), base.replace("total", "acc4")]):
        (repo / "work.py").write_text(changed)
        patches.append(tmp_path / f"p{i}.patch")
        patches[-1].write_text(git(repo, "diff") + "\n")
        git(repo, "checkout", "-q", "--", "work.py")
    for patch in patches:
        subprocess.run(["git", "apply", str(patch)], cwd=repo, check=True, capture_output=True)
    final = (repo / "work.py").read_text()
    assert final.count("  # unit") == 1 and "acc4" in final and compute(final) == compute(BASE)


def event(kind: str, iteration: int | None, second: int, **data) -> dict:
    return {"type": kind, "iteration": iteration, "ts": f"2026-12-05T10:00:{second:02d}+00:00", "data": data}


def test_summarize_counts_false_verdicts_on_the_a_a_attempts_only():
    mod = load()
    events = [event("agent", None, 0, step="think")]
    verdicts = {1: ("rename the accumulator (0)", "slower"), 2: ("delete wasted-work call 1", "faster"),
                3: ("rename the accumulator (2)", "inconclusive")}
    for it, (change, verdict) in verdicts.items():
        events += [event("plan", it, 10 * it, change=change), event("benchmark", it, 10 * it + 5, verdict=verdict),
                   event("decide", it, 10 * it + 8, rule="cap" if it == 3 else "none")]
    row = mod.summarize(1, events)
    assert row["verdicts"] == ["slower", "inconclusive"] and row["false_verdicts"] == 1
    assert row["win_verdicts"] == ["faster"] and row["wins_found"] == 1
    assert row["iterations"] == 3 and row["stopped_by"] == "cap"
