"""TEST: a candidate's outputs against the baseline's, output by output.

Pure functions over plain data (``compare_outputs``), plus one I/O helper
that runs the target's own test command (``run_test_command``).

Tolerance classes (``campaign.plugins.target.Tolerance``):

* ``exact`` - equal; floats bit for bit (NaN equals NaN), lists element-wise.
* ``tight`` - ``|a - e| <= rel * max(|a|, |e|) + abs``, ``rel`` defaults to 1e-9.
* ``loose`` - same formula; ``rel`` must be given (a loose check without a
  number is a configuration error and fails).
* ``count`` - same formula for counts and ratios; ``rel`` defaults to 0.5.
* ``statistical`` - the values are lists over seeds; the candidate's must not
  differ in distribution from the baseline's (two-sided Mann-Whitney U test,
  fail when p < ``alpha``).

Nested dicts and lists are compared element by element; a failure names its
path (``W[seq-10][3]``), the expected and actual values and the tolerance.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from campaign.plugins.target import Tolerance

DEFAULT_REL = {"tight": 1e-9, "count": 0.5}
MAX_FAILURES_PER_OUTPUT = 5


@dataclass
class Failure:
    output: str
    expected: Any
    actual: Any
    tolerance: dict[str, Any]
    message: str


@dataclass
class CorrectnessReport:
    passed: bool
    failures: list[Failure] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failures": [asdict(f) for f in self.failures],
            "checked": list(self.checked),
        }

    def summary(self) -> str:
        if self.passed:
            return f"PASS ({len(self.checked)} outputs checked)"
        lines = [f"FAIL ({len(self.failures)} mismatches in {len(self.checked)} outputs)"]
        lines += [f"  {f.message}" for f in self.failures]
        return "\n".join(lines)


def describe_tolerance(tol: Tolerance) -> str:
    """A human phrase for the allowance, e.g. ``tight (rel 1e-09)``."""
    if tol.kind == "exact":
        return "exact equality"
    if tol.kind == "statistical":
        return f"statistical (Mann-Whitney p >= {tol.alpha:g})"
    rel = tol.rel if tol.rel is not None else DEFAULT_REL.get(tol.kind)
    text = f"{tol.kind} (rel {rel:g}" if rel is not None else f"{tol.kind} (rel unset"
    if tol.abs:
        text += f", abs {tol.abs:g}"
    return text + ")"


def _summ(value: Any) -> Any:
    """A JSON-friendly, short stand-in for a value in a failure record."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        if len(value) > 8 or any(isinstance(v, (list, dict)) for v in value):
            return f"list of length {len(value)}"
        return [_summ(v) for v in value]
    if isinstance(value, dict):
        return f"object with keys {sorted(value)[:8]}" + ("..." if len(value) > 8 else "")
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "..."
    return value


def _kind_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Checker:
    def __init__(self, output: str, tol: Tolerance):
        self.output = output
        self.tol = tol
        self.desc = describe_tolerance(tol)
        self.failures: list[Failure] = []
        self.count = 0

    def fail(self, path: str, expected: Any, actual: Any, why: str) -> None:
        self.count += 1
        if len(self.failures) < MAX_FAILURES_PER_OUTPUT:
            self.failures.append(
                Failure(
                    output=path,
                    expected=_summ(expected),
                    actual=_summ(actual),
                    tolerance=self.tol.to_dict(),
                    message=f"{path}: {why}; expected {_summ(expected)!r}, got {_summ(actual)!r}; allowed: {self.desc}",
                )
            )

    def finish(self) -> list[Failure]:
        if self.count > len(self.failures):
            extra = self.count - len(self.failures)
            self.failures.append(
                Failure(self.output, None, None, self.tol.to_dict(), f"{self.output}: ... and {extra} more mismatches")
            )
        return self.failures

    # -- the walk ---------------------------------------------------------
    def check(self, path: str, expected: Any, actual: Any) -> None:
        if self.tol.kind == "statistical" and isinstance(expected, list) and isinstance(actual, list):
            if all(_is_number(v) for v in expected + actual):
                return self.statistical(path, expected, actual)
        ek, ak = _kind_name(expected), _kind_name(actual)
        if ek != ak:
            self.fail(path, expected, actual, f"type mismatch ({ek} expected, {ak} found)")
            return
        if ek == "object":
            for key in expected:
                if key not in actual:
                    self.fail(f"{path}[{key}]", expected[key], "<missing>", "missing entry")
                else:
                    self.check(f"{path}[{key}]", expected[key], actual[key])
            for key in actual:
                if key not in expected:
                    self.fail(f"{path}[{key}]", "<absent>", actual[key], "unexpected extra entry")
            return
        if ek == "list":
            if len(expected) != len(actual):
                self.fail(path, expected, actual, f"shape mismatch (length {len(expected)} expected, {len(actual)} found)")
                return
            for i, (e, a) in enumerate(zip(expected, actual)):
                self.check(f"{path}[{i}]", e, a)
            return
        if ek == "number":
            return self.number(path, expected, actual)
        if expected != actual:
            self.fail(path, expected, actual, "values differ")

    def number(self, path: str, expected: float, actual: float) -> None:
        e, a = float(expected), float(actual)
        if math.isnan(e) or math.isnan(a):
            if not (math.isnan(e) and math.isnan(a)):
                self.fail(path, expected, actual, "NaN mismatch")
            return
        kind = self.tol.kind
        if kind in ("exact", "statistical"):
            if e != a:
                self.fail(path, expected, actual, "values differ")
            return
        if kind not in DEFAULT_REL and kind != "loose":
            self.fail(path, expected, actual, f"unknown tolerance kind {kind!r}")
            return
        rel = self.tol.rel if self.tol.rel is not None else DEFAULT_REL.get(kind)
        if rel is None:
            self.fail(path, expected, actual, "a 'loose' tolerance needs rel= (e.g. 0.05); none is set")
            return
        if math.isinf(e) or math.isinf(a):
            if e != a:
                self.fail(path, expected, actual, "infinite value mismatch")
            return
        diff = abs(a - e)
        allowed = rel * max(abs(a), abs(e)) + (self.tol.abs or 0.0)
        if diff > allowed:
            scale = max(abs(a), abs(e))
            rd = diff / scale if scale else math.inf
            self.fail(path, expected, actual, f"relative difference {rd:.3g} exceeds the allowance")

    def statistical(self, path: str, expected: list[Any], actual: list[Any]) -> None:
        if [float(v) for v in expected] == [float(v) for v in actual]:
            return
        if len(expected) < 2 or len(actual) < 2:
            self.fail(path, expected, actual, "a statistical comparison needs at least 2 values per side (one per seed)")
            return
        if any(math.isnan(float(v)) for v in expected + actual):
            self.fail(path, expected, actual, "NaN among the per-seed values")
            return
        from scipy import stats

        try:
            p = float(stats.mannwhitneyu(expected, actual, alternative="two-sided").pvalue)
        except ValueError:  # e.g. all values identical on both sides
            p = 1.0
        if math.isnan(p):
            p = 1.0
        if p < self.tol.alpha:
            self.fail(path, expected, actual, f"distributions differ (Mann-Whitney p = {p:.3g} < alpha {self.tol.alpha:g})")


def tolerance_for(name: str, tolerances: dict[str, Tolerance], default: Tolerance) -> Tolerance:
    """The tolerance of output ``name``: exact key first, then a glob pattern key, then ``default``."""
    if name in tolerances:
        tol = tolerances[name]
    else:
        tol = next((t for pat, t in tolerances.items() if fnmatch.fnmatchcase(name, pat)), default)
    return Tolerance.from_dict(tol) if isinstance(tol, (dict, str)) else tol


def compare_outputs(
    expected: dict[str, Any],
    actual: dict[str, Any],
    tolerances: dict[str, Tolerance],
    default: Tolerance = Tolerance("exact"),
) -> CorrectnessReport:
    """Compare every baseline output in ``expected`` with ``actual`` under its tolerance.

    Outputs missing from ``actual`` fail; outputs only in ``actual`` are
    ignored (a new diagnostic output is not a regression).
    """
    failures: list[Failure] = []
    checked: list[str] = []
    for name in expected:
        tol = tolerance_for(name, tolerances or {}, default)
        checked.append(name)
        if name not in actual:
            failures.append(
                Failure(name, _summ(expected[name]), None, tol.to_dict(),
                        f"{name}: missing output (the candidate did not report it); expected {_summ(expected[name])!r}")
            )
            continue
        checker = _Checker(name, tol)
        checker.check(name, expected[name], actual[name])
        failures.extend(checker.finish())
    return CorrectnessReport(passed=not failures, failures=failures, checked=checked)


def run_test_command(cmd: str, cwd: Path, timeout_s: float, junit_xml: str | None = None,
                     target: Any = None) -> dict[str, Any]:
    """Run the target's own test command; ``{cmd, rc, passed, tail, stderr, failed_tests}``.

    ``tail`` / ``stderr``: the last lines of its output / of its stderr.

    ``failed_tests`` (``[{name, message}]``) comes from a JUnit XML report:
    one pytest writes because ``--junitxml`` is added to its command, or the
    ``junit_xml`` file another runner writes (only when written by this run).
    """
    import tempfile
    import time

    from campaign.measure.junit import failed_tests, given_report, junit_command
    from campaign.measure.procs import run_process
    from campaign.measure.seal import sealed_env

    cwd = Path(cwd)
    with tempfile.TemporaryDirectory(prefix="campaign-junit-") as tmp:
        report_name = junit_xml or given_report(cmd)
        run_cmd = cmd if report_name else (junit_command(cmd, Path(tmp) / "junit.xml") or cmd)
        report = cwd / report_name if report_name else Path(tmp) / "junit.xml"
        started = time.time()
        with sealed_env() as sealed:  # a tested process, like a measured one, finds no home of its own
            if target is None:
                result = run_process(run_cmd, cwd, timeout_s, env=sealed)
            else:
                from campaign.measure.import_check import measured

                with measured(target, cwd) as env:  # and imports the tested tree's own code
                    result = run_process(run_cmd, cwd, timeout_s, env={**sealed, **env})
        fresh = report.is_file() and report.stat().st_mtime >= started - 1.0
        failed = failed_tests(report, cwd) if fresh else []
    lines = (result.stdout + "\n" + result.stderr).strip().splitlines()
    tail = "\n".join(lines[-30:])
    stderr = "\n".join(result.stderr.strip().splitlines()[-30:])
    if result.timed_out:
        tail += f"\n[timed out after {timeout_s:g} s; process tree killed]"
        stderr += f"\n[timed out after {timeout_s:g} s; process tree killed]"
    return {"cmd": cmd, "rc": result.returncode, "passed": result.returncode == 0 and not result.timed_out,
            "tail": tail, "stderr": stderr, "failed_tests": failed}


def test_command_failure(test_command: dict[str, Any] | None, last_lines: int = 3) -> str | None:
    """Why the target's own test command failed, with its last lines of stderr; None if it passed or never ran.

    A test command can fail for reasons that have nothing to do with the
    outputs (a missing module, the wrong interpreter): the log must say
    which, in the command's own words. Pure.
    """
    if not isinstance(test_command, dict) or test_command.get("passed"):
        return None
    if "stderr" not in test_command:  # recorded before stderr was: keep the words its rendered logs hold
        return f"test command `{test_command.get('cmd')}` exited {test_command.get('rc')}"
    text = str(test_command.get("stderr") or "").strip() or str(test_command.get("tail") or "").strip()
    from campaign.measure.workload import is_noise

    lines = [line.strip() for line in text.splitlines()  # a bare "Traceback ..." line says nothing by itself
             if line.strip() and line.strip() != "Traceback (most recent call last):" and not is_noise(line)]
    detail = " | ".join(lines[-last_lines:])
    return (f"the target's test command `{test_command.get('cmd')}` failed (exit {test_command.get('rc')})"
            + (f": {detail}" if detail else " without output"))
