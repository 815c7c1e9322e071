"""The knob tuner end to end on tiny fixture targets (tests/tune_fixtures/tunefix.py).

Every tune here uses the ``fast`` preset (3 mirrored blocks, 1 warm repeat)
so the whole file stays well under a minute and a half.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from campaign.tune.core import TuneRequest, tune, tune_for_iteration
from campaign.tune.errors import TuneError
from campaign.tune.report import format_report
from campaign.tune.space import parse_knob
from campaign.tune import store as tune_store
from campaign.tune.study import ClearlyWorsePruner

FIXTURE = Path(__file__).parent / "tune_fixtures" / "tunefix.py"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A workspace holding the fixture module, importable here and in every child process."""
    shutil.copy(FIXTURE, tmp_path / "tunefix.py")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def run_tune(ws, spec, knobs, strategy="grid", **kw):
    req = TuneRequest(spec=spec, workspace=ws, knobs=knobs, strategy=strategy, preset="fast", **kw)
    return tune(req)


def cli(ws, *args):
    """The real command line in a fresh process: exit code, stdout, stderr."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ws), os.environ.get("PYTHONPATH")])))
    p = subprocess.run([sys.executable, "-m", "campaign", "tune", *args, "--dir", str(ws)], capture_output=True,
                       text=True, env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------------------- input parsing (pure)


def test_parse_knob_types_and_errors():
    assert parse_knob("n_jobs=1,2,4") == ("n_jobs", [1, 2, 4])
    assert parse_knob("mode=fast, exact ,fast") == ("mode", ["fast", "exact"])
    assert parse_knob("f=0.5,true,none") == ("f", [0.5, True, None])
    for bad in ("n_jobs", "=1,2", "n_jobs=", "n_jobs= , ", "bad name=1"):
        with pytest.raises(TuneError):
            parse_knob(bad)


# --------------------------------------------------------------------------- strategies


@pytest.mark.parametrize("strategy", ["grid", "quick", "smart"])
def test_more_workers_win_on_a_sleep_bound_map(ws, strategy):
    space = ["workers=1,2,8"] if strategy == "smart" else ["workers=1,8"]  # smart needs room to search
    report = run_tune(ws, "tunefix:SleepMap", space, strategy)
    assert report["configs"][0]["default"] and report["configs"][0]["knobs"] == {"workers": 1}
    assert report["improved"], report["recommendation"]
    assert report["chosen"]["workers"] > 1
    assert report["winner"]["speedup"] > 1 and report["winner"]["ci"][0] > 1
    assert report["fixed"] == {"subsample": 0.5}  # the fast preset's subsample
    assert report["winner"]["predicted_speedup"] is not None  # the analytical hint, beside the measurement
    assert 0 < report["metrics"]["parallel_efficiency"] <= 1.2
    assert report["metrics"]["measured"] >= 2 and report["metrics"]["new_runs"] > 0
    assert "Use workers=" in format_report(report)
    if strategy == "smart":  # the best predicted configuration is enqueued and measured first
        # (which one that is depends on the pool costs the dry run measured, which load moves)
        others = [c for c in report["configs"][1:] if c.get("predicted_speedup") is not None]
        best_predicted = max(others, key=lambda c: c["predicted_speedup"])
        assert report["configs"][1]["knobs"] == best_predicted["knobs"]
        # pruning a clearly worse configuration: tests/test_tune_pruning.py, whatever the load's order


@pytest.mark.parametrize("strategy", ["grid", "quick", "smart"])
def test_serial_wins_when_pool_start_up_dominates(ws, strategy):
    report = run_tune(ws, "tunefix:TinyMap", ["workers=1,2"], strategy)
    assert not report["improved"]
    assert report["chosen"] == {"workers": 1}
    assert report["recommendation"].startswith("Keep the default (workers=1)")
    other = [r for r in report["configs"] if not r["default"]]
    assert other and all(r["verdict"] == "slower" or r["status"] == "pruned" for r in other)
    assert report["hint"]["costs"]["worker_start_s"] > report["hint"]["costs"]["item_s"]
    assert other[0]["predicted_speedup"] < 1  # the model also says serial


def test_a_repeated_tune_hits_the_cache_and_bad_input_loses_nothing(ws):
    first = run_tune(ws, "tunefix:SleepMap", ["workers=1,8"])
    assert first["metrics"]["measured"] == 2
    store = tune_store.TuneStore(tune_store.default_storage_url(ws))
    rows = store.count()
    store.close()
    for bad in (["--knob", "threads=1,2"], ["--knob", "workers="], ["--knob", "workers"],
                ["--timeout-per-config", "0"], ["--timeout-per-config", "-3"]):
        rc, out, err = cli(ws, "tunefix:SleepMap", "--strategy", "grid", *bad)
        assert rc != 0 and "Traceback" not in err and err.startswith("error: "), (bad, err)
    store = tune_store.TuneStore(tune_store.default_storage_url(ws))
    assert store.count() == rows
    store.close()
    again = run_tune(ws, "tunefix:SleepMap", ["workers=1,8"])
    m = again["metrics"]
    assert m["measured"] == 0 and m["new_runs"] == 0 and m["cache_hit_rate"] == 1.0
    assert again["chosen"] == first["chosen"]
    assert again["winner"]["speedup"] == first["winner"]["speedup"]
    # a code change (the scope file's contents) invalidates the cache
    with open(ws / "tunefix.py", "a") as fh:
        fh.write("\n# changed\n")
    changed = run_tune(ws, "tunefix:SleepMap", ["workers=1,8"])
    assert changed["metrics"]["measured"] == 2 and changed["code_version"] != first["code_version"]


def test_a_hanging_configuration_is_killed_and_a_crash_is_recorded(ws):
    report = run_tune(ws, "tunefix:Moody", ["mode=ok,crash,hang,fast"], timeout_s=2.0)
    by_mode = {r["knobs"]["mode"]: r for r in report["configs"]}
    assert by_mode["crash"]["status"] == "failed" and "crashes on purpose" in by_mode["crash"]["error"]
    assert by_mode["hang"]["status"] == "timeout"
    assert by_mode["fast"]["status"] == "ok"  # the search went on after both
    assert report["chosen"] == {"mode": "fast"}
    assert report["metrics"]["failed"] == 1 and report["metrics"]["timed_out"] == 1
    pid = int((ws / "hang_child.pid").read_text())
    try:
        gone = psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        gone = True
    assert gone, "the hanging configuration's grandchild survived the timeout"


@pytest.mark.parametrize("strategy,executor", [("quick", "thread"), ("smart", "process")])
def test_concurrent_trials(ws, strategy, executor):
    report = run_tune(ws, "tunefix:Moody", ["mode=ok,fast,crash"], strategy, executor=executor, concurrency=2)
    assert report["chosen"] == {"mode": "fast"} and report["metrics"]["measured"] == 3
    assert report["metrics"]["failed"] == 1


def test_unknown_knob_and_unreadable_storage_are_one_clear_error(ws, tmp_path):
    with pytest.raises(TuneError, match="unknown knob 'threads'.*declares subsample, workers"):
        run_tune(ws, "tunefix:SleepMap", ["threads=1,2"])
    (ws / "garbage.sqlite").write_text("this is not a database\n" * 50)
    for url in ("nonsense://nowhere", f"sqlite:///{ws / 'garbage.sqlite'}", f"sqlite:///{ws / 'tunefix.py'}/x.db"):
        rc, out, err = cli(ws, "tunefix:SleepMap", "--storage", url, "--json")
        assert rc == 1 and "Traceback" not in err and "cannot open the tune storage" in err, (url, err)
        assert json.loads(out.splitlines()[0])["ok"] is False


def test_cli_json_save_and_history(ws):
    rc, out, err = cli(ws, "tunefix:Moody", "--knob", "mode=ok,crash", "--strategy", "grid", "--save", "first",
                       "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["ok"] and report["chosen"] == {"mode": "ok"} and report["saved_as"] == "first"
    assert [r["status"] for r in report["configs"]] == ["ok", "failed"]
    rc, out, err = cli(ws, "--history", "first")
    assert rc == 0 and "| first | moody |" in out and "| mode=crash | - |" in out
    rc, out, err = cli(ws, "--history", "nothing-saved")
    assert rc == 1 and "no saved tune named" in err


def test_tune_for_iteration_returns_the_tune_event_data(ws):
    data = tune_for_iteration("tunefix:Moody", ws, ["mode=ok,crash"], predicted_speedup=1.5)
    assert set(data) == {"knobs", "report"}
    assert data["knobs"] == {"mode": "ok"}  # nothing beat the default: the default is the choice
    pred = data["report"]["prediction"]
    assert pred == {"predicted_speedup": 1.5, "measured_speedup": 1.0, "ratio": pytest.approx(1 / 1.5)}
    json.dumps(data)  # journal-ready


def test_smart_is_warm_started_from_earlier_results_for_the_same_target_and_machine(ws):
    run_tune(ws, "tunefix:Moody", ["mode=ok,fast"], "grid")
    with open(ws / "tunefix.py", "a") as fh:  # new code version: nothing is cached for it
        fh.write("\n# changed\n")
    report = run_tune(ws, "tunefix:Moody", ["mode=ok,crash,fast"], "smart", trials=1, hint=False)
    measured = [r["knobs"] for r in report["configs"] if not r["default"]]
    assert measured == [{"mode": "fast"}]  # the earlier winner was enqueued first
    assert report["metrics"]["measured"] == 2 and report["study"]


class _FakeTrial:
    def __init__(self, values, value=None):
        self.intermediate_values = dict(enumerate(values))
        self.value = value


class _FakeStudy:
    def __init__(self, done):
        self.done = [_FakeTrial([], v) for v in done]

    def get_trials(self, deepcopy=False, states=None):
        return self.done


def test_clearly_worse_pruner():
    pruner = ClearlyWorsePruner(min_steps=2, margin=0.10)
    study = _FakeStudy([1.0, 3.0])
    assert not pruner.prune(study, _FakeTrial([1.2]))  # one block is not enough
    assert pruner.prune(study, _FakeTrial([1.2, 2.6]))  # best block 2.6 < 0.9 x 3.0
    assert not pruner.prune(study, _FakeTrial([1.2, 2.8]))  # within 10% of the best
    assert not pruner.prune(_FakeStudy([]), _FakeTrial([0.1, 0.1]))  # nothing finished to compare with


# --------------------------------------------------------------------------- a tune as a campaign iteration


def _campaign(ws, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ws), os.environ.get("PYTHONPATH")])),
               CAMPAIGN_BASELINE_REPEAT="1", CAMPAIGN_BENCH_MAX_BLOCKS="4", CAMPAIGN_BENCH_MIN_BLOCKS="2")
    return subprocess.run([sys.executable, "-m", "campaign", *args, "--dir", str(ws)], capture_output=True,
                          text=True, env=env, timeout=180)


def test_tune_recorded_as_the_iterations_measurement(ws):
    for cmd in (["init", "-q"], ["add", "tunefix.py"],
                ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "fixture"]):
        subprocess.run(["git", *cmd], cwd=ws, check=True)
    assert _campaign(ws, "init", "--target", "tunefix:SleepMap", "--json").returncode == 0
    early = _campaign(ws, "tune", "tunefix:SleepMap", "--knob", "workers=1,8", "--record")
    assert early.returncode == 2 and "campaign profile" in early.stderr  # a tune measures a planned iteration only
    assert _campaign(ws, "profile").returncode == 0
    assert _campaign(ws, "think", "--hypothesis", "items sleep: the map is latency-bound", "--option", "threads",
                     "--option", "processes", "--chosen", "threads", "--predict", "4", "--risk", "none").returncode == 0
    assert _campaign(ws, "plan", "--phase", "map", "--change", "map with 8 threads").returncode == 0
    other = _campaign(ws, "tune", "tunefix:TinyMap", "--knob", "workers=1,2", "--record")
    assert other.returncode == 1 and "tunefix:SleepMap" in other.stderr
    done = _campaign(ws, "tune", "tunefix:SleepMap", "--knob", "workers=1,8", "--strategy", "grid", "--record", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["iteration"] == 1 and result["knobs"] == {"workers": 8}
    assert result["report"]["prediction"]["predicted_speedup"] == 4.0
    events = [json.loads(line) for line in (ws / "optim" / "sleepmap" / "journal.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "tune" and events[-1]["iteration"] == 1
    status = json.loads(_campaign(ws, "status", "--json").stdout)
    assert status["step"] == "try"  # the chosen values still go through IMPLEMENT, TEST and BENCHMARK
    assert "tuned with `campaign tune --record`" in (ws / "optim" / "sleepmap" / "optimization_log.md").read_text()


# --------------------------------------------------------------------------- outside a workspace, --help


def test_tune_outside_the_targets_workspace_is_one_clear_user_error(tmp_path):
    """`campaign tune weight_search` in a directory without kernel.py: a named user error, not a workload crash."""
    empty = tmp_path / "not-a-workspace"
    empty.mkdir()
    rc, out, err = cli(empty, "weight_search", "--json")
    assert rc == 1 and "Traceback" not in err
    assert "FileNotFoundError" not in err
    assert "is not a workspace of target 'weight_search'" in err and "kernel.py" in err
    payload = json.loads(out.splitlines()[0])
    assert payload["ok"] is False and "not a workspace" in payload.get("message", payload.get("error", ""))
    assert not (empty / ".campaign").exists()  # nothing created where the user only made a mistake


def test_tune_help_points_to_the_docs_page():
    p = subprocess.run([sys.executable, "-m", "campaign", "tune", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0
    assert "TUNE.md" not in p.stdout and "docs/tuning.md" in p.stdout
