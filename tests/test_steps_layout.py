"""Each step of the loop is findable by name: ``campaign/loop/steps/<step>.py`` says what it does and refuses."""

import ast
import importlib
from pathlib import Path

import pytest

from campaign.loop.machine import Step
from campaign.loop.session import Campaign

STEPS_DIR = Path(__file__).resolve().parents[1] / "campaign" / "loop" / "steps"

# The step (as the state machine names it) -> the module that does it.
MODULE_OF = {
    Step.INIT: "init", Step.PROFILE: "profile", Step.THINK: "think", Step.PLAN: "plan",
    Step.TRY: "try_change", Step.LOG: "log", Step.COMMIT: "commit", Step.REVERT: "commit",
    Step.DECIDE: "decide", Step.FINISH: "finish",
}


def test_every_step_but_done_has_a_module():
    assert set(MODULE_OF) == set(Step) - {Step.DONE}


@pytest.mark.parametrize("step", sorted(MODULE_OF, key=lambda s: s.value), ids=lambda s: s.value)
def test_step_module_docstring_names_the_step_and_its_refusals(step):
    module = importlib.import_module(f"campaign.loop.steps.{MODULE_OF[step]}")
    doc = module.__doc__ or ""
    assert step.name in doc.splitlines()[0], doc.splitlines()[:1]
    assert "refuse" in doc.lower(), f"{module.__name__}: the docstring must say what the step refuses"


def test_test_and_benchmark_have_their_own_modules():
    for name, step in (("testing", "TEST"), ("benchmark", "BENCHMARK")):
        doc = importlib.import_module(f"campaign.loop.steps.{name}").__doc__ or ""
        assert doc.startswith(f"{step}:"), doc.splitlines()[:1]


def test_campaign_facade_and_step_modules_stay_small():
    session = STEPS_DIR.parent / "session.py"
    tree = ast.parse(session.read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Campaign"]
    assert cls.end_lineno - cls.lineno < 300
    for path in [session, *STEPS_DIR.glob("*.py")]:
        assert len(path.read_text().splitlines()) <= 500, path.name


def test_facade_keeps_one_method_per_step():
    for method in ("open", "profile", "think", "plan", "try_change", "fail_attempt", "record_tune", "log",
                   "decide", "skip", "finish", "render", "status", "state", "render_files", "command_for"):
        assert callable(getattr(Campaign, method)), method
