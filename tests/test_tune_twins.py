"""Two tune workers sharing a study measure a configuration once: the older trial's worker measures, the other waits.

Driven on a real in-memory Optuna study; "another worker" is a trial whose
``worker`` attribute names someone else. No timing: the waiting callback
itself moves the other worker on.
"""

from __future__ import annotations

import datetime

import optuna
import pytest

from campaign.tune import study as tune_study
from campaign.tune.study import WORKER, wait_for_older_twin

DISTS = {"workers": optuna.distributions.CategoricalDistribution([1, 2, 8])}
OTHER = "elsewhere:1"


@pytest.fixture
def study():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize")


def other_workers_trial(study, params: dict, drawn: bool = True):
    """Another worker's RUNNING trial that will draw ``params``: drawn already, or created but not yet drawn."""
    study.enqueue_trial(params)
    trial = study.ask(DISTS if drawn else None)
    trial.set_user_attr("worker", OTHER)
    return trial


def draw(trial) -> None:
    """The other worker writes its (enqueued) draw."""
    trial.suggest_categorical("workers", DISTS["workers"].choices)


def our_trial(study, params: dict):
    study.enqueue_trial(params)
    trial = study.ask(DISTS)
    trial.set_user_attr("worker", WORKER)
    return trial


def wait(study, ours, on_wait=lambda: None) -> tuple[str | None, list[str]]:
    seen: list[str] = []

    def waiting(other: str) -> None:
        seen.append(other)
        on_wait()

    return wait_for_older_twin(study, ours, limit_s=30, waiting=waiting, poll_s=0.001), seen


def test_an_older_twin_is_waited_for_until_it_finishes(study):
    older = other_workers_trial(study, {"workers": 2})
    ours = our_trial(study, {"workers": 2})
    waited_for, seen = wait(study, ours, on_wait=lambda: study.tell(older, 1.5))
    assert waited_for == OTHER and seen == [OTHER]


def test_an_older_trial_of_another_configuration_is_not_waited_for(study):
    other_workers_trial(study, {"workers": 8})
    ours = our_trial(study, {"workers": 2})
    assert wait(study, ours) == (None, [])


def test_a_younger_twin_is_not_waited_for(study):
    ours = our_trial(study, {"workers": 2})
    other_workers_trial(study, {"workers": 2})
    assert wait(study, ours) == (None, [])


def test_an_older_trial_still_being_drawn_is_waited_for_then_compared(study):
    """The race seen on a loaded machine: the older trial exists but its parameters are not written yet."""
    older = other_workers_trial(study, {"workers": 2}, drawn=False)
    ours = our_trial(study, {"workers": 2})

    def draws_a_twin() -> None:  # its worker now writes its draw: our configuration, so we keep waiting
        if not study.trials[older.number].params:
            draw(older)
        else:
            study.tell(older, 1.5)

    waited_for, seen = wait(study, ours, on_wait=draws_a_twin)
    assert waited_for == OTHER and seen == [OTHER, OTHER]


def test_an_older_trial_that_draws_another_configuration_releases_the_wait(study):
    older = other_workers_trial(study, {"workers": 8}, drawn=False)
    ours = our_trial(study, {"workers": 2})
    waited_for, seen = wait(study, ours, on_wait=lambda: draw(older))
    assert seen == [OTHER]  # waited once, while it was drawing, and went on as soon as it drew something else


def test_a_trial_abandoned_mid_draw_holds_nothing_up(study, monkeypatch):
    other_workers_trial(study, {"workers": 2}, drawn=False)
    ours = our_trial(study, {"workers": 2})
    later = datetime.datetime.now() + datetime.timedelta(seconds=tune_study.DRAWING_GRACE_S + 1)

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    monkeypatch.setattr(datetime, "datetime", Clock)
    assert wait(study, ours) == (None, [])
