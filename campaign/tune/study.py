"""The Optuna side of the smart strategy: the storage, the pruner, the study's name, who measured a trial.

Every worker given the same ``--storage`` URL (threads, processes, or
machines of the same kind: CPU model, cores, Python) and the same target,
code, case and space opens one study: the study's name is a hash of those.
Each trial carries the ``worker`` that measured it (host:pid).
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any, Callable

from campaign.tune import store as tune_store
from campaign.tune.measurement import Protocol

WORKER = f"{socket.gethostname()}:{os.getpid()}"  # this process, as the trials it measures name it
DRAWING_GRACE_S = 60.0  # an older trial still without all its parameters after this long was abandoned mid-draw


def optuna_storage(url: str):
    """Optuna's RDB storage on ``url``; SQLite waits for a busy database instead of failing at once."""
    import optuna

    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    # optuna creates its tables on first use; two workers starting at once may race on a fresh server
    return tune_store.create_tables(lambda: optuna.storages.RDBStorage(tune_store.engine_url(url),
                                                                       engine_kwargs=kwargs))


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

    text = json.dumps([proto.target, proto.study_text(), proto.code, proto.machine, space], sort_keys=True,
                      default=str)
    return f"campaign-tune-{proto.target}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def wait_for_older_twin(study, trial, limit_s: float, waiting: Callable[[str], None],
                        poll_s: float = 0.5) -> str | None:
    """Wait while another worker's older trial measures the same configuration; return that worker, or None.

    Its result then comes from the shared cache instead of a second
    measurement. Only an *older* trial (smaller number) is waited for, so two
    workers that drew the same configuration never wait for each other; a
    worker that died mid-trial is waited for at most ``limit_s``. An older
    trial whose parameters are not all written yet (Optuna creates the trial,
    then stores each suggestion) may still turn out a twin, so it is waited
    for too (on a loaded machine that window is long enough for two workers
    to measure one configuration), unless it began drawing more than
    ``DRAWING_GRACE_S`` ago: its worker died mid-draw and would hold up every
    later trial.
    """
    import datetime

    import optuna

    def maybe_twin(t) -> bool:
        if t.params == trial.params:
            return True
        drawing = set(t.params) != set(trial.params)  # still being drawn: it may become our twin
        started = t.datetime_start
        return drawing and (started is None or
                            (datetime.datetime.now() - started).total_seconds() < DRAWING_GRACE_S)

    deadline = time.monotonic() + limit_s
    waited_for = None
    while time.monotonic() < deadline:
        twins = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
                 if t.number < trial.number and t.user_attrs.get("worker") != WORKER and maybe_twin(t)]
        if not twins:
            return waited_for
        waited_for = twins[0].user_attrs.get("worker", "another worker")
        waiting(waited_for)
        time.sleep(poll_s)
    return waited_for


def study_summary(study) -> dict[str, Any]:
    """The shared study at the end of this worker's tune: its finished trials and the workers that measured them."""
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    workers = sorted({t.user_attrs["worker"] for t in finished if "worker" in t.user_attrs})
    return {"name": study.study_name, "trials": len(finished), "workers": workers, "this_worker": WORKER}
