"""weight_search target: naive semantics, validation, edge cases, API, campaign plugin."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import numpy as np
from pathlib import Path

import pytest
from work_counter import lines_executed

import targets.weight_search as ws
from targets.weight_search import naive, workloads
from targets.weight_search.playbook import ATTEMPTS, STAGE_FILES

# ---------------------------------------------------------------- semantics by hand


def test_canonical_order_line1_selects_last_parameter_and_early_stop():
    r = naive.search([1.0, 1.0], 1.0)
    assert r.W == [0.0, 1.0] and r.converged and r.history[0]["early_stop_line"] == 1
    assert r.combinations == 3  # the naive kernel evaluates every line, early stop or not


def test_tie_on_delta_prefers_larger_result_then_earliest_line():
    # lines: 1 -> c[1]=3 (delta 1), 2 -> c[0]=1 (delta 1), 3 -> 4 (delta 2): larger result wins
    assert naive.search([1.0, 3.0], 2.0, max_iter=1, early_stopping=False).W == [0.0, 1.0]
    assert naive.search([3.0, 1.0], 2.0, max_iter=1, early_stopping=False).W == [1.0, 0.0]
    # full tie (same delta, same result): earliest line (line 1 selects the last parameter)
    assert naive.search([1.0, 1.0], 1.0, max_iter=1, early_stopping=False).W == [0.0, 1.0]


def test_wpn_doubles_when_all_below_and_halves_otherwise():
    # W compounds (W[i] = b[i]*wpn with b[i] = W[i]): 3*1=3 <12 -> x2; 3*2=6 <12 -> x2;
    # 3*(2*4)=24 >= 12 -> /2; 3*(8*2)=48 -> /2; 3*(16*1)=48 -> /2; 3*(16*0.5)=24 ...
    r = naive.search([3.0], 12.0)
    assert [h["wpn"] for h in r.history][:6] == [1.0, 2.0, 4.0, 2.0, 1.0, 0.5]
    assert [h["best_delta"] for h in r.history][:4] == [9.0, 6.0, 12.0, 36.0]
    assert naive.search([3.0], 12.0, max_iter=2).W == [2.0]
    r = naive.search([3.0], 1.0, max_iter=3)  # 3 > 1: halve
    assert [h["wpn"] for h in r.history] == [1.0, 0.5, 0.25]


def test_wpn_bounds_clip():
    r = naive.search([3.0], 12.0, wpn_bounds=(0.5, 1.5), max_iter=4)
    assert [h["wpn"] for h in r.history] == [1.0, 1.5, 1.5, 1.5]


# ---------------------------------------------------------------- validation

BAD = [
    (dict(coefficients=[]), "coefficients"),
    (dict(coefficients=[0.0, 0.0]), "coefficients"),
    (dict(coefficients=[1.0, math.nan]), "coefficients"),
    (dict(coefficients=[1.0, math.inf]), "coefficients"),
    (dict(target=math.inf), "target"),
    (dict(target=math.nan), "target"),
    (dict(tolerance=-1.0), "tolerance"),
    (dict(max_iter=0), "max_iter"),
    (dict(initial_wpn=0.0), "initial_wpn"),
    (dict(wpn_bounds=(2.0, 1.0)), "wpn_bounds"),
]

TARGET_DIR = Path(ws.__file__).parent
REFUSAL_LINES = 2000  # validation of N+1 coefficients; one pass of real work is far more


def _all_modules():
    return [("naive", naive)] + [(f, ws.load_stage(f)) for f in STAGE_FILES]


@pytest.mark.parametrize("bad,name", BAD)
def test_validation_names_the_argument(bad, name):
    args = dict(coefficients=[1.0, 2.0], target=3.0)
    args.update(bad)
    for label, mod in _all_modules():
        with pytest.raises(ValueError, match=name):
            mod.search(**args)
    api_args = {k: v for k, v in args.items() if k not in ("coefficients", "target")}
    with pytest.raises(ValueError, match=name):
        ws.WeightCombinationSearch(**api_args).search(args["coefficients"], args["target"])


def _refuses(func, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        func()


def test_n_above_limit_refused_before_any_work():
    """Counted, not timed: the refusal runs a few hundred Python lines at most (validation only)."""
    for label, mod in _all_modules():
        lines_executed(lambda: _refuses(lambda: mod.search([1.0] * (mod.MAX_N + 1), 5.0),
                                        r"coefficients: N=\d+ exceeds .* limit"), cap=REFUSAL_LINES, under=TARGET_DIR)
    api = ws.WeightCombinationSearch(adaptive_sampling=False)
    lines_executed(lambda: _refuses(lambda: api.search([1.0] * 45, 5.0), "limit of 44"), cap=REFUSAL_LINES, under=TARGET_DIR)


# ---------------------------------------------------------------- edge cases


@pytest.mark.parametrize("problem", workloads.edge_cases(), ids=lambda p: p["name"])
def test_edge_cases_all_exact_stages_match_naive(problem):
    kw = workloads.kwargs(problem)
    ref = naive.search(**kw)
    for f in STAGE_FILES:
        if f in ATTEMPTS or f == "06_meet_in_middle.py":  # 06: one JIT compile less; 07 extends it
            continue
        r = ws.load_stage(f).search(**kw)
        assert (list(r.W), r.cycles, r.converged) == (ref.W, ref.cycles, ref.converged), f
    np.testing.assert_array_equal(ws.WeightCombinationSearch().find_optimal_weights(
        kw["coefficients"], kw["target"], kw["tolerance"]), np.array(ref.W))


def test_edge_case_expectations():
    single = naive.search(**workloads.kwargs(workloads.parse("edge-single")))
    assert single.W == [1.0] and not single.converged and single.cycles == 32  # oscillates, see above
    t0 = naive.search(**workloads.kwargs(workloads.parse("edge-target0")))
    assert t0.converged and t0.error == 0.0
    un = naive.search(**workloads.kwargs(workloads.parse("edge-unreachable")))
    assert not un.converged and un.cycles == 32 and len(un.history) == 32
    neg = naive.search(**workloads.kwargs(workloads.parse("edge-negative")))
    assert neg.converged and neg.error == 0.0
    dom = naive.search(**workloads.kwargs(workloads.parse("edge-dominant")))
    assert dom.converged and dom.error == 0.0


def test_naive_runs_without_campaign(monkeypatch):
    monkeypatch.setitem(sys.modules, "campaign", None)
    monkeypatch.setitem(sys.modules, "campaign.plugins.phases", None)
    spec = importlib.util.spec_from_file_location("_standalone_naive", ws.HERE / "naive.py")
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "_standalone_naive", mod)
    spec.loader.exec_module(mod)
    assert mod.search([1.0, 2.0, 3.0], 5.0).W == naive.search([1.0, 2.0, 3.0], 5.0).W


# ---------------------------------------------------------------- API


def test_api_exhaustive_matches_naive_and_keeps_last_result():
    p = workloads.kwargs(workloads.rand(11, 1))
    api = ws.WeightCombinationSearch(tolerance=0.0)
    W = api.find_optimal_weights(p["coefficients"], p["target"])
    ref = naive.search(**p)
    assert isinstance(W, np.ndarray) and W.tolist() == ref.W
    res = api.last_result
    assert res.error == ref.error and res.cycles == ref.cycles and res.converged == ref.converged
    assert res.combinations == 2 ** 11 * 32 - 32 and len(res.history) == ref.cycles
    assert set(res.history[0]) == {"wpn", "best_delta", "early_stop_line"}


def test_api_parallel_same_answer_and_sampled_above_threshold():
    p = workloads.kwargs(workloads.rand(20, 4))
    a = ws.WeightCombinationSearch().search(p["coefficients"], p["target"])
    b = ws.WeightCombinationSearch(parallel=True, n_jobs=2).search(p["coefficients"], p["target"])
    assert a.W == b.W and a.history == b.history
    api = ws.WeightCombinationSearch(tolerance=20, sampling_threshold=44)
    s = workloads.seq(50)
    r = api.search(s["coefficients"], s["target"])
    assert r.mode == "sampled" and r.converged and r.error <= 20
    assert ws.WeightCombinationSearch(sampling_threshold=12).mode_for(13) == "sampled"


def test_import_is_cheap():
    import subprocess

    code = "import sys, targets.weight_search; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ws.HERE.parents[1]))
    assert out.stdout.strip() == "False", out.stderr


# ---------------------------------------------------------------- campaign plugin


def test_target_run_case_fast_is_jsonable(tmp_path):
    t = ws.TARGET
    assert t.name == "weight_search" and t.scope == ["kernel.py"]
    t.create_workspace(tmp_path)
    assert (tmp_path / "kernel.py").read_text() == (ws.HERE / "naive.py").read_text()
    out = t.run_case("fast", tmp_path)
    json.dumps(out)
    assert list(out["W"]) == out["problems"] == list(out["error"]) == list(out["converged"])
    assert set(out) == {"problems", "W", "error", "converged"}  # work counts are no correctness output
    assert t.compile_seconds() is None  # the naive kernel has no JIT
    names = [e.key for e in t.playbook()]
    assert len(names) == len(STAGE_FILES) and "float32_vectorized" in names


def _same_outputs(a, b, target):
    """The campaign's own TEST comparison of candidate outputs ``a`` against baseline ``b``."""
    try:
        from campaign.measure.correctness import compare_outputs
    except ImportError:  # pragma: no cover - framework module not present
        compare_outputs = None
    if compare_outputs is not None:
        return compare_outputs(b, a, target.tolerances).passed
    if a["W"] != b["W"] or a["converged"] != b["converged"]:
        return False
    return all(abs(a["error"][k] - y) <= 1e-9 * max(abs(a["error"][k]), abs(y)) + 1e-12 for k, y in b["error"].items())


def test_playbook_applied_in_order_keeps_outputs_on_both_cases(tmp_path):
    t = ws.TARGET
    t.create_workspace(tmp_path)
    base = {case: t.run_case(case, tmp_path) for case in ("fast", "full")}
    for entry, f in zip(t.playbook(), STAGE_FILES):
        assert entry.predicted_speedup > 0 and len(entry.options) >= 2 and entry.hypothesis
        before = (tmp_path / "kernel.py").read_text()
        entry.apply(tmp_path)
        outs = {case: t.run_case(case, tmp_path, {"n_jobs": 2}) for case in base}
        if f in ATTEMPTS:
            assert not _same_outputs(outs["fast"], base["fast"], t), "the float32 attempt should break the contract"
            (tmp_path / "kernel.py").write_text(before)  # the campaign rejects it: roll back
            continue
        for case in base:  # the campaign's TEST runs the full case too, every 3rd kept iteration
            assert _same_outputs(outs[case], base[case], t), (entry.key, case)
    assert t.compile_seconds() is not None and t.compile_seconds() > 0
