"""The correctness check's failure records, exactly as the user reads them, and its boundaries.

Written against the surviving mutants of ``campaign/measure/correctness.py`` (docs/mutation.md):
each failure path is asserted as the whole ``Failure`` record (path, summarised values,
tolerance, message), so a wrong path, value or word in the message fails a test.
"""

import sys

import pytest

from campaign.measure.correctness import Failure, compare_outputs, describe_tolerance, run_test_command
from campaign.plugins.target import Tolerance

EXACT = Tolerance("exact").to_dict()


def only_failure(expected, actual, tol, name="x"):
    rep = compare_outputs({name: expected}, {name: actual}, {name: tol})
    assert not rep.passed and len(rep.failures) == 1, rep.failures
    return rep.failures[0]


def passes(expected, actual, tol):
    return compare_outputs({"x": expected}, {"x": actual}, {"x": tol}).passed


@pytest.mark.parametrize("tol, text", [
    (Tolerance("exact"), "exact equality"),
    (Tolerance("statistical", alpha=0.05), "statistical (Mann-Whitney p >= 0.05)"),
    (Tolerance("tight"), "tight (rel 1e-09)"),
    (Tolerance("tight", rel=1e-6), "tight (rel 1e-06)"),
    (Tolerance("count"), "count (rel 0.5)"),
    (Tolerance("loose"), "loose (rel unset)"),
    (Tolerance("loose", rel=0.05, abs=0.001), "loose (rel 0.05, abs 0.001)"),
])
def test_describe_tolerance(tol, text):
    assert describe_tolerance(tol) == text


def test_report_to_dict_and_summary():
    rep = compare_outputs({"x": 1, "y": 2}, {"x": 1, "y": 3}, {})
    message = "y: values differ; expected 2, got 3; allowed: exact equality"
    assert rep.to_dict() == {
        "passed": False,
        "failures": [{"output": "y", "expected": 2, "actual": 3, "tolerance": EXACT, "message": message}],
        "checked": ["x", "y"],
    }
    assert rep.summary() == f"FAIL (1 mismatches in 2 outputs)\n  {message}"
    assert compare_outputs({"x": 1, "y": "a"}, {"x": 1, "y": "a"}, {}).summary() == "PASS (2 outputs checked)"


@pytest.mark.parametrize("expected, actual, why", [
    (None, 1, "type mismatch (null expected, number found)"),
    (True, 1, "type mismatch (bool expected, number found)"),
    ("1", 1, "type mismatch (string expected, number found)"),
    ((1,), 1, "type mismatch (list expected, number found)"),
    ({1, 2}, 1, "type mismatch (set expected, number found)"),
])
def test_type_mismatch_names_both_kinds(expected, actual, why):
    f = only_failure(expected, actual, Tolerance("exact"))
    assert f.output == "x" and f.actual == 1 and f.message.startswith(f"x: {why}; expected ")


def test_type_mismatch_record():
    f = only_failure({"a": 1, "b": 2}, [1, 2], Tolerance("exact"))
    assert f == Failure("x", "object with keys ['a', 'b']", [1, 2], EXACT,
                        "x: type mismatch (object expected, list found); expected \"object with keys ['a', 'b']\", "
                        "got [1, 2]; allowed: exact equality")


def test_missing_and_extra_entries_are_named_by_path():
    rep = compare_outputs({"x": {"a": 1, "b": 2}}, {"x": {"a": 1, "z": 3}}, {})
    assert rep.failures == [
        Failure("x[b]", 2, "<missing>", EXACT, "x[b]: missing entry; expected 2, got '<missing>'; allowed: exact equality"),
        Failure("x[z]", "<absent>", 3, EXACT, "x[z]: unexpected extra entry; expected '<absent>', got 3; allowed: exact equality"),
    ]


def test_shape_mismatch_record():
    tight = Tolerance("tight")
    assert only_failure([1, 2, 3], [1, 2], tight) == Failure(
        "x", [1, 2, 3], [1, 2], tight.to_dict(),
        "x: shape mismatch (length 3 expected, 2 found); expected [1, 2, 3], got [1, 2]; allowed: tight (rel 1e-09)")


def test_values_differ_record_for_strings():
    assert only_failure("a", "b", Tolerance("exact")) == Failure(
        "x", "a", "b", EXACT, "x: values differ; expected 'a', got 'b'; allowed: exact equality")


def test_values_in_records_are_summarised():
    # a list of 8 plain values is shown, 9 or nested are described
    f = only_failure(list(range(8)), list(range(9)), Tolerance("exact"))
    assert f.expected == list(range(8)) and f.actual == "list of length 9"
    f = only_failure([[1], [2]], [[1]], Tolerance("exact"))
    assert f.expected == "list of length 2" and f.actual == "list of length 1"
    f = only_failure([float("inf"), 1.0, float("nan")], [1.0], Tolerance("exact"))
    assert f.expected == ["inf", 1.0, "nan"]
    eight = {f"k{i}": i for i in range(8)}
    nine = {f"k{i}": i for i in range(9)}
    keys = "['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']"
    assert only_failure(eight, 1, Tolerance("exact")).expected == f"object with keys {keys}"
    assert only_failure(nine, 1, Tolerance("exact")).expected == f"object with keys {keys}..."
    assert only_failure("a" * 200, 1, Tolerance("exact")).expected == "a" * 200
    assert only_failure("a" * 200 + "b", 1, Tolerance("exact")).expected == "a" * 200 + "..."  # 201 characters


def test_nan_mismatch_record():
    loose = Tolerance("loose", rel=0.5)
    assert only_failure(1.0, float("nan"), loose) == Failure(
        "x", 1.0, "nan", loose.to_dict(), "x: NaN mismatch; expected 1.0, got 'nan'; allowed: loose (rel 0.5)")
    assert passes(float("nan"), float("nan"), loose)


def test_a_single_number_under_statistical_is_compared_exactly():
    stat = Tolerance("statistical")
    assert passes(1.0, 1.0, stat)
    assert only_failure(1.0, 2.0, stat).message == (
        "x: values differ; expected 1.0, got 2.0; allowed: statistical (Mann-Whitney p >= 0.01)")


def test_unknown_tolerance_kind_fails_with_its_name():
    fuzzy = Tolerance("fuzzy")
    assert only_failure(1.0, 1.0, fuzzy) == Failure(
        "x", 1.0, 1.0, fuzzy.to_dict(), "x: unknown tolerance kind 'fuzzy'; expected 1.0, got 1.0; allowed: fuzzy (rel unset)")


def test_loose_without_rel_record():
    loose = Tolerance("loose")
    assert only_failure(100.0, 100.0, loose) == Failure(
        "x", 100.0, 100.0, loose.to_dict(),
        "x: a 'loose' tolerance needs rel= (e.g. 0.05); none is set; expected 100.0, got 100.0; allowed: loose (rel unset)")


def test_infinities_match_only_themselves():
    tight = Tolerance("tight")
    assert passes(float("inf"), float("inf"), tight)
    assert only_failure(float("inf"), 1.0, tight) == Failure(
        "x", "inf", 1.0, tight.to_dict(), "x: infinite value mismatch; expected 'inf', got 1.0; allowed: tight (rel 1e-09)")
    assert only_failure(float("inf"), float("-inf"), tight).message.startswith("x: infinite value mismatch;")
    assert only_failure(1.0, float("-inf"), tight).message.startswith("x: infinite value mismatch;")


def test_relative_difference_record_and_inclusive_allowance():
    loose = Tolerance("loose", rel=0.05)
    assert only_failure(100.0, 110.0, loose) == Failure(
        "x", 100.0, 110.0, loose.to_dict(),
        "x: relative difference 0.0909 exceeds the allowance; expected 100.0, got 110.0; allowed: loose (rel 0.05)")
    count = Tolerance("count")
    assert passes(1.0, 2.0, count)  # difference 1.0 == allowed 0.5 * 2.0: inside
    assert not passes(1.0, 2.01, count)
    assert passes(0.0, 0.0, Tolerance("tight"))  # zero allowance, zero difference


def test_statistical_needs_two_values_on_each_side():
    stat = Tolerance("statistical")
    why = "a statistical comparison needs at least 2 values per side (one per seed)"
    assert only_failure([1.0], [2.0, 3.0], stat) == Failure(
        "x", [1.0], [2.0, 3.0], stat.to_dict(),
        f"x: {why}; expected [1.0], got [2.0, 3.0]; allowed: statistical (Mann-Whitney p >= 0.01)")
    assert only_failure([1.0, 2.0], [3.0], stat).message.startswith(f"x: {why};")
    assert passes([1.0, 2.0], [1.5, 2.5], stat)  # two a side are enough


def test_statistical_nan_record():
    stat = Tolerance("statistical")
    assert only_failure([1.0, float("nan")], [1.0, 2.0], stat) == Failure(
        "x", [1.0, "nan"], [1.0, 2.0], stat.to_dict(),
        "x: NaN among the per-seed values; expected [1.0, 'nan'], got [1.0, 2.0]; allowed: statistical (Mann-Whitney p >= 0.01)")


def test_statistical_fails_only_below_alpha():
    base, shifted = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    stat = Tolerance("statistical")
    assert only_failure(base, shifted, stat) == Failure(
        "x", base, shifted, stat.to_dict(),
        f"x: distributions differ (Mann-Whitney p = 0.00216 < alpha 0.01); expected {base}, got {shifted}; "
        "allowed: statistical (Mann-Whitney p >= 0.01)")
    from scipy import stats

    p = stats.mannwhitneyu(base, shifted, alternative="two-sided").pvalue
    assert passes(base, shifted, Tolerance("statistical", alpha=p))  # p == alpha is not "less than"


def test_strings_under_statistical_are_compared_element_by_element():
    f = only_failure(["a", "b"], ["a", "c"], Tolerance("statistical"))
    assert f.output == "x[1]" and f.message.startswith("x[1]: values differ;")


@pytest.mark.parametrize("outcome", ["raises", "nan"])
def test_an_undecided_rank_test_passes(monkeypatch, outcome):
    from scipy import stats

    class Result:
        pvalue = float("nan")

    def undecided(*args, **kwargs):
        if outcome == "raises":
            raise ValueError("all numbers are identical")
        return Result()

    monkeypatch.setattr(stats, "mannwhitneyu", undecided)
    assert passes([1.0, 2.0], [3.0, 4.0], Tolerance("statistical"))


def test_capped_mismatches_end_with_an_exact_count():
    rep = compare_outputs({"x": list(range(100))}, {"x": [v + 1 for v in range(100)]}, {})
    assert [f.output for f in rep.failures] == ["x[0]", "x[1]", "x[2]", "x[3]", "x[4]", "x"]
    assert rep.failures[-1] == Failure("x", None, None, EXACT, "x: ... and 95 more mismatches")


def test_a_missing_output_does_not_stop_the_others():
    rep = compare_outputs({"y": 2, "z": 1}, {"z": 3}, {})
    assert rep.failures == [
        Failure("y", 2, None, EXACT, "y: missing output (the candidate did not report it); expected 2"),
        Failure("z", 1, 3, EXACT, "z: values differ; expected 1, got 3; allowed: exact equality"),
    ]


def test_tolerances_given_as_text_or_dict():
    assert passes(1.0, 1.0 + 1e-12, "tight")
    assert passes(100.0, 104.0, {"kind": "loose", "rel": 0.05})
    assert not passes(100.0, 106.0, {"kind": "loose", "rel": 0.05})


def test_run_test_command_keeps_the_last_30_lines(tmp_path):
    cmd = f"{sys.executable} -c \"[print(i) for i in range(40)]\""
    assert run_test_command(cmd, tmp_path, 30)["tail"] == "\n".join(str(i) for i in range(10, 40))


def test_run_test_command_timeout_kills_and_says_so(tmp_path):
    cmd = f"{sys.executable} -c \"import time; print('started', flush=True); time.sleep(60)\""
    result = run_test_command(cmd, tmp_path, 5)  # 5 s: time for the interpreter to start on a loaded machine
    assert not result["passed"]
    assert result["tail"].endswith("[timed out after 5 s; process tree killed]")
    assert result["tail"].startswith("started")
