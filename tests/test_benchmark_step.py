"""The BENCHMARK step measures each distinct tree once and records its policy, interval level, noise and load."""

from __future__ import annotations

from loop_fixtures import PRIMES, SIEVE, git, make_repo

from campaign.loop.steps import benchmark as step
from campaign.plugins.loading import load_target


def start_commit(repo):
    """What init does: the record and AGENTS.md committed on top of the baseline commit."""
    (repo / "optim" / "c1").mkdir(parents=True)
    (repo / "optim" / "c1" / "journal.jsonl").write_text("{}\n")
    (repo / "AGENTS.md").write_text("how to run the campaign\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "campaign c1: start")
    return git(repo, "rev-parse", "HEAD")


def counting_runs(monkeypatch):
    from campaign.measure import bench

    seen = []
    real = bench.run_workload

    def counting(target, case, workdir, **kw):
        seen.append(str(workdir))
        return real(target, case, workdir, **kw)

    monkeypatch.setattr(bench, "run_workload", counting)
    return seen


def fast_settings(monkeypatch):
    for key, value in {"MAX_BLOCKS": "2", "MIN_BLOCKS": "2", "BUDGET_S": "30", "PROCESS_S": "0.01"}.items():
        monkeypatch.setenv(f"CAMPAIGN_BENCH_{key}", value)


def test_last_kept_and_baseline_with_the_same_code_are_measured_once(tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    start = start_commit(repo)
    (repo / "primes.py").write_text(SIEVE)  # the candidate: the working tree
    fast_settings(monkeypatch)
    seen = counting_runs(monkeypatch)
    target = load_target("campaign.toml", repo)
    data = step.benchmark_change(target, repo, start, base, ["fast"], lambda line: None,
                                 exclude=("optim/c1", "AGENTS.md"))
    dirs = set(seen)
    assert len(dirs) == 2 and str(repo) in dirs  # one checkout for both roles, plus the working tree
    (checkout,) = dirs - {str(repo)}
    assert seen.count(checkout) == seen.count(str(repo)) == 1 + 2 * data["blocks"]
    assert data["vs_baseline"]["speedup"] == data["speedup"]  # the roles share the measurement
    assert data["policy"].startswith("same / inconclusive -> revert")
    assert data["ci_kind"] == "range" or data["ci_level"] > 0.9  # an overwhelming win shows the blocks' range
    assert data["noise"]["run_noise"] is not None and len(data["load"]["blocks"]) == data["blocks"]


def test_distinct_trees_are_measured_apart(tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    start = start_commit(repo)
    fast_settings(monkeypatch)
    seen = counting_runs(monkeypatch)
    target = load_target("campaign.toml", repo)
    (repo / "primes.py").write_text(SIEVE)  # the candidate, much faster than both
    # without the exclusions the start commit's tree differs from the baseline's: two checkouts
    data = step.benchmark_change(target, repo, start, base, ["fast"], lambda line: None)
    assert len(set(seen)) == 3 and data["verdict"] == "faster"
    last_dir, base_dir = (d for d in dict.fromkeys(seen) if d != str(repo))  # in the order first run
    # the decision ran without the baseline; the faster candidate then met it at the first look
    assert max(i for i, d in enumerate(seen) if d == last_dir) < min(i for i, d in enumerate(seen) if d == base_dir)
    # calibration, then blocks of two runs: min_blocks of them
    assert seen.count(base_dir) == 1 + 2 * 2
    assert data["vs_baseline"]["speedup"] > 1 and data["cumulative_speedup"] == data["vs_baseline"]["speedup"]


def test_the_baselines_look_is_not_held_for_the_clock_guard(tmp_path, monkeypatch):
    """The decision's comparison carries the guards LOG reads; the baseline's first look only gives the
    cumulative speedup, and a hold there measured 6 more blocks for a guard entry no one kept."""
    from campaign.measure import bench

    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    start = start_commit(repo)
    fast_settings(monkeypatch)
    seen = counting_runs(monkeypatch)
    monkeypatch.setattr(bench, "clock_hold", lambda calib: lambda sched: "a guard that never can tell")
    target = load_target("campaign.toml", repo)
    (repo / "primes.py").write_text(SIEVE)
    data = step.benchmark_change(target, repo, start, base, ["fast"], lambda line: None)
    last_dir, base_dir = (d for d in dict.fromkeys(seen) if d != str(repo))
    assert data["verdict"] == "faster" and data["blocks"] > 2  # the decision was held
    assert seen.count(base_dir) == 1 + 2 * 2  # the baseline's look: calibration and min_blocks blocks


def test_a_change_not_faster_than_the_last_kept_is_not_measured_against_the_baseline(tmp_path, monkeypatch):
    """Once a change is kept the baseline is the slowest code: it ran in every block beside the two being
    decided between, most of a loaded block, for a number only a kept change needs."""
    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "primes.py").write_text(SIEVE)
    git(repo, "commit", "-qam", "kept: the sieve")
    kept = git(repo, "rev-parse", "HEAD")
    (repo / "primes.py").write_text(PRIMES)  # the candidate undoes it: slower than the last kept
    fast_settings(monkeypatch)
    seen = counting_runs(monkeypatch)
    target = load_target("campaign.toml", repo)
    data = step.benchmark_change(target, repo, kept, base, ["fast"], lambda line: None)
    assert data["verdict"] == "slower" and len(set(seen)) == 2  # the kept change's checkout and the candidate
    assert data["vs_baseline"] is None and data["cumulative_speedup"] is None
