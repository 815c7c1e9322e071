"""Every user-facing error is a ``UserError`` with one code, whichever path raised it; no code reads messages (issue 25).

Before: a target that could not load was a plain ``Exception`` that each caller re-wrapped (``UserError`` at init,
``TuneError`` in tune, ``CompareError`` in compare), so the JSON ``code`` depended on the command; the runner told
"no change to try" apart by its words, and tune told a timeout and a kill by theirs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import campaign
from campaign.errors import NoChangeError, UserError, as_user_error
from campaign.measure.compare import CompareError
from campaign.measure.gate import GateOptionError
from campaign.measure.settings import SettingsError
from campaign.measure.workload import WorkloadError
from campaign.plugins.target import TargetError
from campaign.tune.errors import TuneError

CAMPAIGN = Path(campaign.__file__).parent


@pytest.mark.parametrize("cls, code", [(TargetError, "target_error"), (WorkloadError, "measure_error"),
                                       (NoChangeError, "user_error"), (CompareError, "user_error"),
                                       (SettingsError, "user_error"), (GateOptionError, "user_error"),
                                       (TuneError, "user_error")])
def test_the_errors_a_user_meets_are_user_errors_with_their_code(cls, code):
    exc = cls("what went wrong and what to do")
    assert isinstance(exc, UserError) and exc.code == code
    assert as_user_error(exc) is exc  # the same object, code and message: nothing re-wrapped on the way out


def test_a_target_that_cannot_load_has_one_code_in_every_command(tmp_path):
    from campaign.measure.compare import _load
    from campaign.tune.measurement import load_workspace_target

    for load in (lambda: load_workspace_target("no_such_module:Nothing", tmp_path),
                 lambda: _load("no_such_module:Nothing", tmp_path)):
        with pytest.raises(UserError) as caught:
            load()
        assert caught.value.code == "target_error" and isinstance(caught.value, TargetError)


def test_a_workload_failure_says_how_the_process_ended():
    timed_out = WorkloadError("gone", timed_out=True)
    killed = WorkloadError("gone", returncode=-9)
    crashed = WorkloadError("gone", returncode=1)
    assert timed_out.timed_out and not timed_out.signalled
    assert killed.signalled and not crashed.signalled and not crashed.timed_out


def _reads_messages(tree: ast.AST) -> list[int]:
    """Lines that test whether a text is in an exception's message: ``"..." in str(exc)``, ``... in (error or "")``."""
    names = {"exc", "e", "err", "error", "error_text"}

    def is_message(node: ast.AST) -> bool:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("str", "first_line"):
            return bool(node.args) and isinstance(node.args[0], ast.Name) and node.args[0].id in names
        if isinstance(node, ast.BoolOp):
            return any(is_message(v) for v in node.values)
        if isinstance(node, ast.Attribute) and node.attr == "message":
            return isinstance(node.value, ast.Name) and node.value.id in names
        return isinstance(node, ast.Name) and node.id in ("error", "error_text")

    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
            and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) and is_message(node.comparators[0])]


def test_no_code_branches_on_the_text_of_an_error():
    found = {str(path.relative_to(CAMPAIGN)): lines for path in sorted(CAMPAIGN.rglob("*.py"))
             if (lines := _reads_messages(ast.parse(path.read_text(encoding="utf-8"))))}
    assert found == {}


def test_the_scan_finds_what_it_looks_for():
    src = ('try:\n    f()\nexcept E as exc:\n    if "no change to try" not in str(exc):\n        raise\n'
           'transient = status == "failed" and "exited with code -" in (error or "")\n')
    assert sorted(_reads_messages(ast.parse(src))) == [4, 6]
