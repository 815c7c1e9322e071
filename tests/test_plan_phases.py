"""A plan may name several phases (issue 21 item 5): one function change sped up three phases and measured
1.53x where the one phase `plan --phase` allowed capped it, by Amdahl, at 1.43x. Pure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from campaign.loop.steps.plan import combined_share, plan_phases, plan_violation

PROFILE = {"shares": {"parse": 0.30, "render": 0.25, "io": 0.03, "tiny": 0.01}, "phases": {}}


def _state(**extra):
    return SimpleNamespace(last_profile=PROFILE, exhausted=set(), skipped=set(),
                           open_phases=lambda: sorted(PROFILE["shares"]), **extra)


@pytest.mark.parametrize("text, names", [("parse", ["parse"]), ("parse+render", ["parse", "render"]),
                                         ("parse, render,parse", ["parse", "render"])])
def test_plan_phases(text, names):
    assert plan_phases(text) == names


def test_several_phases_add_their_shares_and_bound_the_sum():
    share, bound = combined_share(PROFILE, ["parse", "render"])
    assert share == pytest.approx(0.55) and bound == pytest.approx(1 / 0.45)
    single, single_bound = combined_share(PROFILE, ["parse"])
    assert single == 0.30 and bound > single_bound  # the sum is what the change can reach


def test_each_named_phase_must_be_measured_and_small_sums_still_need_a_reason():
    assert plan_violation(_state(), "parse+render", None) is None
    assert "'nope' was not measured" in plan_violation(_state(), "parse+nope", None)
    assert "Amdahl" in plan_violation(_state(), "io+tiny", None)  # 4% together
    assert plan_violation(_state(), "io+tiny", "a reason") is None
