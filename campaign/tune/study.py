"""The Optuna side of the smart strategy: the storage, the pruner, the study's name."""

from __future__ import annotations

import json
from typing import Any

from campaign.tune.measurement import Protocol


def optuna_storage(url: str):
    """Optuna's RDB storage on ``url``; SQLite waits for a busy database instead of failing at once."""
    import optuna

    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def remote_trial(storage: str, study_name: str, trial_id: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=optuna_storage(storage), pruner=make_pruner())
    return optuna.trial.Trial(study, trial_id)


class ClearlyWorsePruner:
    """Prune a trial once every block so far is clearly below the best finished trial.

    "Clearly": after ``min_steps`` blocks, the trial's best per-block ratio is
    below ``(1 - margin)`` times the best completed speedup. Uses the
    intermediate values reported per block (``trial.report(ratio, block)``).
    """

    def __init__(self, min_steps: int = 2, margin: float = 0.10):
        self.min_steps, self.margin = min_steps, margin

    def prune(self, study, trial) -> bool:
        import optuna

        values = list(trial.intermediate_values.values())
        if len(values) < self.min_steps:
            return False
        done = [t.value for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                if t.value is not None]
        if not done:
            return False
        return max(values) < (1 - self.margin) * max(done)


def make_pruner():
    import optuna

    class _Pruner(ClearlyWorsePruner, optuna.pruners.BasePruner):
        def __init__(self):
            ClearlyWorsePruner.__init__(self)

    return _Pruner()


def study_name(proto: Protocol, space: dict[str, list[Any]]) -> str:
    import hashlib

    text = json.dumps([proto.target, proto.key_text(), proto.code, proto.machine, space], sort_keys=True, default=str)
    return f"campaign-tune-{proto.target}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
