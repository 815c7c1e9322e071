"""The perf-test target kind: a GSO-style script's experiment() is the workload, its own check is TEST."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from loop_fixtures import campaign, git
from campaign.measure.workload import run_workload
from campaign.plugins.loading import load_target

SLOW = textwrap.dedent(
    """
    def pairs_summing_to(values, total):
        found = []
        for i, a in enumerate(values):
            for b in values[i + 1:]:
                if a + b == total:
                    found.append((min(a, b), max(a, b)))
        return sorted(set(found))
    """
).lstrip()

FAST = textwrap.dedent(
    """
    def pairs_summing_to(values, total):
        seen, found = set(), set()
        for a in values:
            if total - a in seen:
                found.add((min(a, total - a), max(a, total - a)))
            seen.add(a)
        return sorted(found)
    """
).lstrip()

WRONG = FAST.replace("return sorted(found)", "return sorted(found)[1:]")

PERF_TEST = textwrap.dedent(
    """
    import json
    import os

    import pairs


    def setup():
        n = {"fast": 1200, "full": 1600}[os.environ.get("CAMPAIGN_CASE", "fast")]
        return [(i * 7919) % (2 * n) for i in range(n)]


    def experiment(values):
        return pairs.pairs_summing_to(values, 1000)


    def store_result(result, filename):
        with open(filename, "w") as fh:
            json.dump([list(p) for p in result], fh)


    def load_result(filename):
        with open(filename) as fh:
            return [tuple(p) for p in json.load(fh)]


    def check_equivalence(reference, current):
        assert len(reference) == len(current), f"{len(current)} pairs, expected {len(reference)}"
        assert reference == current, "the pairs differ"
    """
).lstrip()


def make_project(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    (root / "pairs.py").write_text(SLOW)
    (root / "perf_test.py").write_text(PERF_TEST)
    (root / "campaign.toml").write_text(
        '[target]\nkind = "perf-test"\nname = "pairs"\npath = "perf_test.py"\nscope = ["pairs.py"]\ntimeout_s = 120\n')
    (root / ".gitignore").write_text("__pycache__/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "pairs with a perf test")
    return root


def test_the_first_run_stores_the_reference_and_later_runs_are_checked_against_it(tmp_path):
    repo = make_project(tmp_path / "p")
    target = load_target("perf-test:perf_test.py", repo)
    assert target.scope == ["pairs.py"]
    first = run_workload(target, "fast", repo, repeat=2)
    assert first.outputs == {"equivalent": True, "equivalence_error": ""}
    assert set(first.phases) == {"experiment"} and len(first.warm_s) == 2
    (repo / "pairs.py").write_text(FAST)
    assert run_workload(target, "fast", repo).outputs["equivalent"] is True
    (repo / "pairs.py").write_text(WRONG)
    wrong = run_workload(target, "fast", repo).outputs
    assert wrong["equivalent"] is False and "pairs, expected" in wrong["equivalence_error"]
    reference_files = list((repo / ".git" / "campaign-perf-test").rglob("reference"))
    assert len(reference_files) == 1 and json.loads(reference_files[0].read_text())  # written by store_result


def ok(result, code: int = 0) -> dict:
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def test_a_campaign_keeps_a_faster_equivalent_change_and_reverts_one_the_script_rejects(tmp_path):
    repo = make_project(tmp_path / "p")
    c = lambda *args: campaign(repo, *args)  # noqa: E731
    ok(c("init", "--target", "campaign.toml", "--goal-speedup", "1000", "--max-iterations", "2"))
    for n, (code, kept) in enumerate(((WRONG, False), (FAST, True)), start=1):
        ok(c("profile"))
        ok(c("think", "--hypothesis", "nested loops are O(n^2)", "--option", "a set of seen values", "--option", "sort",
             "--chosen", "a set", "--predict", "10", "--risk", "pairs lost"))
        ok(c("plan", "--phase", "experiment", "--change", f"attempt {n}: a set of seen values"))
        (repo / "pairs.py").write_text(code)
        tried = c("try", "--json")
        assert (tried.returncode == 0) is kept
        ok(c("log", "--surprise", "-", "--why", "size-dependent", "--lesson", "measure", "--json"))
        if n == 1:
            ok(c("decide"))
    events = [json.loads(line) for line in (repo / "optim" / "pairs" / "journal.jsonl").read_text().splitlines()]
    tests = [e["data"] for e in events if e["type"] == "test"]
    assert [t["passed"] for t in tests] == [False, True]
    assert any("pairs, expected" in json.dumps(f) for f in tests[0]["failures"])
    assert (repo / "pairs.py").read_text() == FAST
