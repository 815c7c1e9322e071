"""The held-out transfer decision: held to the claim made at its own size, and looked at twice before a refusal.

Seen on the demo beside six CPU burners (2026-12-05): the Numba kernel claimed
4.13x at the fast size; its held-out check at the full size read 1.60x, 1.14x
and 1.31x (1.34x), under the 1.43x bar drawn from the fast claim, and the
genuine win was reverted. Quiet, the same check read 1.44x and passed by a
hundredth: the kernel's gain really is smaller at the full size.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from campaign.cli import cli
from campaign.measure.heldout import TRANSFER_MIN, claim_at, pooled, transfer_refusal
from campaign.measure.integrity import guards_ran, refusal
from hack_fixtures import journal_events, make_work_repo, zoo_env
from test_hack_zoo import PER_PERIOD  # the zoo's genuine control: one step per period

NUMBA_FAST = {"verdict": "faster", "speedup": 4.132, "case": "fast", "full": None}  # the demo's iteration 5
NUMBA_FULL_HELD = {"case": "full", "passed": True, "failures": [], "seeds": [11, 12, 13],
                   "per_seed": [1.598, 1.145, 1.313], "speedup": 1.339, "clock": "cpu"}


def test_a_full_size_reading_is_not_held_to_the_fast_size_claim():
    assert claim_at(NUMBA_FAST, "full") is None and claim_at(NUMBA_FAST, "fast") == 4.132
    bench = {**NUMBA_FAST, "suspicion": {"why": "above the Amdahl bound", "heldout_full": NUMBA_FULL_HELD}}
    assert transfer_refusal(NUMBA_FULL_HELD, bench) is None
    assert refusal(bench, {"passed": True}) is None
    row = next(g for g in guards_ran({"passed": True}, bench) if g["name"].startswith("suspicion"))
    assert row["ran"] and row["passed"]


def test_at_a_size_with_no_claim_of_its_own_the_change_must_still_be_clearly_faster():
    flat = {**NUMBA_FULL_HELD, "per_seed": [1.02, 0.97, 1.04], "speedup": 1.01}
    found = transfer_refusal(flat, NUMBA_FAST)
    assert found and "does not transfer" in found and f"{TRANSFER_MIN:.2f}x this claim needs" in found
    assert "none measured at the full size" in found


def test_a_full_size_reading_is_held_to_the_full_size_claim_where_one_was_measured():
    bench = {**NUMBA_FAST, "full": {"case": "full", "verdict": "faster", "speedup": 7.58}}
    assert claim_at(bench, "full") == 7.58
    found = transfer_refusal(NUMBA_FULL_HELD, bench)  # 7.58x claimed at the full size, 1.34x read there
    assert found and "1.50x this claim needs" in found and "7.58x faster" in found
    unsure = {**NUMBA_FAST, "full": {"case": "full", "verdict": "inconclusive", "speedup": 7.58}}
    assert claim_at(unsure, "full") is None  # an undecided full-size benchmark makes no claim there


def test_a_fast_size_reading_keeps_the_bar_that_rises_with_the_claim():
    held = {"case": "fast", "speedup": 1.18}
    assert "1.50x this claim needs" in transfer_refusal(held, {"verdict": "faster", "speedup": 40.0, "case": "fast"})
    assert transfer_refusal(held, {"verdict": "faster", "speedup": 1.6, "case": "fast"}) is None


def test_two_looks_pool_every_seed():
    second = {"case": "full", "passed": True, "failures": [], "seeds": [21, 22, 23],
              "per_seed": [1.5, 1.4, 1.45], "speedup": 1.45, "clock": "cpu"}
    both = pooled(NUMBA_FULL_HELD, second)
    assert both["seeds"] == [11, 12, 13, 21, 22, 23] and len(both["per_seed"]) == 6 and both["rechecked"]
    assert both["speedup"] == pytest.approx((1.598 * 1.145 * 1.313 * 1.5 * 1.4 * 1.45) ** (1 / 6))
    wrong = {**second, "passed": False, "clock": "wall",
             "failures": [{"message": "held-out inputs: total differs"}]}
    mixed = pooled(NUMBA_FULL_HELD, wrong)
    assert not mixed["passed"] and mixed["clock"] == "mixed" and len(mixed["failures"]) == 1


def test_a_second_look_that_finds_wrong_outputs_refuses():
    bench = {"verdict": "faster", "speedup": 3.0, "case": "fast",
             "heldout_recheck": {"case": "fast", "passed": False, "speedup": 3.0, "rechecked": True,
                                 "failures": [{"message": "held-out inputs: total differs"}]}}
    assert refusal(bench, {"passed": True, "heldout": {"case": "fast", "passed": True, "speedup": 3.0}}) \
        == "held-out inputs: total differs"


# --- the second look, through `campaign try` and `campaign log` ---------------------------------------------------



def reading(case: str, ratios: list[float]) -> dict:
    from statistics import geometric_mean

    return {"name": "held-out inputs", "case": case, "seeds": [7 + i for i in range(len(ratios))],
            "passed": True, "failures": [], "per_seed": ratios, "speedup": geometric_mean(ratios),
            "against": "baseline", "clock": "cpu"}


@pytest.fixture
def at_try(tmp_path, monkeypatch):
    """A seeded campaign.toml target at TRY with a genuine edit in place (one step per period: about 36x here); the CLI runs in this process."""
    repo = make_work_repo(tmp_path / "repo", seeded=True)
    for key, value in zoo_env().items():
        if key.startswith("CAMPAIGN_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(repo)
    for args in (["init", "--target", "campaign.toml", "--goal-speedup", "2"], ["profile"],
                 ["think", "--hypothesis", "h", "--option", "a", "--chosen", "a", "--predict", "2", "--risk", "r"],
                 ["plan", "--phase", "work", "--change", "one step per period"]):
        result = CliRunner().invoke(cli, [*args, "--json"])
        assert result.exit_code == 0, result.output
    (repo / "work.py").write_text(PER_PERIOD.lstrip())
    return repo


def fake_checks(monkeypatch, first: list[float], second: list[float]) -> list[str]:
    """TEST's held-out check reads ``first``; the second look reads ``second`` (the claim's own checks)."""
    import campaign.loop.steps.claim_checks as claim_checks
    import campaign.loop.steps.try_change as try_change

    looks: list[str] = []

    def at_test(ctx, base, run_dir, case, last=None, n_seeds=None):
        looks.append(f"test:{case}")
        return reading(case, first)

    def again(ctx, base, run_dir, case, last=None, n_seeds=None):
        looks.append(f"again:{case}")
        return reading(case, second)

    monkeypatch.setattr(try_change, "heldout_campaign_check", at_test)
    monkeypatch.setattr(claim_checks, "heldout_campaign_check", again)
    return looks


def try_and_log(repo: Path) -> tuple[dict, dict, list[dict]]:
    import json

    tried = CliRunner().invoke(cli, ["try", "--json"])
    assert tried.exit_code == 0, tried.output
    logged = CliRunner().invoke(cli, ["log", "--surprise", "None", "--why", "w", "--lesson", "l", "--json"])
    events = journal_events(repo)
    return json.loads(tried.stdout), json.loads(logged.stdout), events


def test_a_low_first_reading_gets_a_second_look_and_a_genuine_win_is_kept(at_try, monkeypatch):
    looks = fake_checks(monkeypatch, first=[1.02, 1.05, 0.98], second=[4.8, 5.1, 4.9])
    tried, logged, events = try_and_log(at_try)
    bench = next(e["data"] for e in events if e["type"] == "benchmark")
    assert bench["verdict"] == "faster" and bench["speedup"] >= 1.5, bench["verdict"]  # a claim the bar applies to
    assert looks[0] == "test:fast" and "again:fast" in looks, looks
    recheck = bench["heldout_recheck"]
    assert recheck["rechecked"] and len(recheck["per_seed"]) == 6 and recheck["speedup"] > 2
    assert logged["kept"] is True, (logged.get("refused"), logged.get("verdict"), logged.get("reason"))
    held_row = next(g for g in bench["guards"] if g["name"] == "held-out inputs")
    assert held_row["passed"] and held_row["speedup"] == recheck["speedup"]


def test_a_claim_that_reads_flat_twice_is_refused_after_the_second_look(at_try, monkeypatch):
    looks = fake_checks(monkeypatch, first=[1.02, 1.05, 0.98], second=[0.99, 1.01, 1.03])
    tried, logged, events = try_and_log(at_try)
    bench = next(e["data"] for e in events if e["type"] == "benchmark")
    assert bench["verdict"] == "faster" and bench["speedup"] >= 1.5, bench["verdict"]  # a claim the bar applies to
    assert "again:fast" in looks
    assert logged.get("kept") is not True
    assert "does not transfer" in (logged.get("refused") or "") and "twice" in logged["refused"], logged


def test_a_reading_over_the_bar_is_not_looked_at_again(at_try, monkeypatch):
    looks = fake_checks(monkeypatch, first=[4.9, 5.2, 4.7], second=[4.8, 5.1, 4.9])
    tried, logged, events = try_and_log(at_try)
    bench = next(e["data"] for e in events if e["type"] == "benchmark")
    assert "again:fast" not in looks and "heldout_recheck" not in bench, looks
    assert logged["kept"] is True, (logged.get("refused"), logged.get("verdict"), logged.get("reason"))
