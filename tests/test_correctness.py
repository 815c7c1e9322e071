import sys

from campaign.measure.correctness import compare_outputs, run_test_command
from campaign.plugins.target import Tolerance


def one(expected, actual, tol):
    return compare_outputs({"x": expected}, {"x": actual}, {"x": tol})


def test_exact_pass_and_fail():
    assert one([1, 2.5, "a"], [1, 2.5, "a"], Tolerance("exact")).passed
    rep = one(1.0, 1.0 + 1e-15, Tolerance("exact"))
    assert not rep.passed
    f = rep.failures[0]
    assert f.output == "x" and f.expected == 1.0 and f.actual == 1.0 + 1e-15
    assert f.tolerance["kind"] == "exact" and "exact" in f.message and "x" in f.message


def test_tight_default_rel():
    assert one(1.0, 1.0 + 1e-12, Tolerance("tight")).passed
    rep = one(1.0, 1.0 + 1e-6, Tolerance("tight"))
    assert not rep.passed and "1e-09" in rep.failures[0].message


def test_loose_needs_rel():
    assert one(100.0, 104.0, Tolerance("loose", rel=0.05)).passed
    assert not one(100.0, 110.0, Tolerance("loose", rel=0.05)).passed
    rep = one(100.0, 100.0, Tolerance("loose"))
    assert not rep.passed and "needs rel" in rep.failures[0].message


def test_count_default_half():
    assert one(100, 140, Tolerance("count")).passed
    assert not one(100, 260, Tolerance("count")).passed


def test_abs_floor_near_zero():
    assert one(0.0, 1e-12, Tolerance("tight", abs=1e-10)).passed
    assert not one(0.0, 1e-12, Tolerance("tight")).passed


def test_statistical():
    import random

    rng = random.Random(1)
    base = [rng.gauss(10, 1) for _ in range(30)]
    same = [rng.gauss(10, 1) for _ in range(30)]
    shifted = [rng.gauss(13, 1) for _ in range(30)]
    tol = Tolerance("statistical", alpha=0.01)
    assert one(base, base, tol).passed
    assert one(base, same, tol).passed
    rep = one(base, shifted, tol)
    assert not rep.passed and "Mann-Whitney" in rep.failures[0].message


def test_nested_paths():
    exp = {"W": {"seq-10": [1.0, 2.0, 3.0, 4.0]}}
    act = {"W": {"seq-10": [1.0, 2.0, 3.0, 4.5]}}
    rep = compare_outputs(exp, act, {"W": Tolerance("tight")})
    assert not rep.passed
    assert rep.failures[0].output == "W[seq-10][3]"
    assert rep.failures[0].expected == 4.0 and rep.failures[0].actual == 4.5


def test_shape_type_nan_missing():
    rep = one([1, 2, 3], [1, 2], Tolerance("tight"))
    assert "shape mismatch" in rep.failures[0].message
    rep = one([1, 2], {"a": 1}, Tolerance("tight"))
    assert "type mismatch" in rep.failures[0].message
    rep = one(1.0, float("nan"), Tolerance("loose", rel=0.5))
    assert not rep.passed and "NaN" in rep.failures[0].message
    assert one(float("nan"), float("nan"), Tolerance("exact")).passed
    rep = compare_outputs({"x": 1, "y": 2}, {"x": 1}, {})
    assert not rep.passed and rep.failures[0].output == "y" and "missing" in rep.failures[0].message
    assert rep.checked == ["x", "y"]


def test_many_mismatches_are_capped():
    rep = one(list(range(100)), [v + 1 for v in range(100)], Tolerance("exact"))
    assert len(rep.failures) == 6 and "95 more" in rep.failures[-1].message


def test_glob_tolerance_and_to_dict():
    rep = compare_outputs({"err_a": 1.0}, {"err_a": 1.01}, {"err_*": Tolerance("loose", rel=0.05)})
    assert rep.passed
    d = one(1, 2, Tolerance("exact")).to_dict()
    assert d["passed"] is False and set(d["failures"][0]) == {"output", "expected", "actual", "tolerance", "message"}


def test_run_test_command(tmp_path):
    ok = run_test_command("echo fine", tmp_path, 30)
    assert ok == {"cmd": "echo fine", "rc": 0, "passed": True, "tail": "fine", "failed_tests": []}
    bad = run_test_command(f"{sys.executable} -c \"raise SystemExit(4)\"", tmp_path, 30)
    assert bad["rc"] == 4 and not bad["passed"]
