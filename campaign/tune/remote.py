"""A tune's trials on a cluster (``campaign tune --cluster SCHEDULER``): each one whole on one host.

The executor is the one ``campaign run --cluster`` sends its attempts to
(``campaign.scale.cluster``; the CLI opens it and hands it in, since the
tune and scale layers do not import each other). A trial is one
configuration measured against the default in mirrored blocks: both arms of
every block run on the worker that took it, under that host's measurement
slot, so its ratio compares two configurations, never two machines. The
result carries the host's fingerprint, and is cached under that host's
machine key (a timing is its machine's).

The worker measures in a copy of the workspace. Its cache: the workspace's
own SQLite file travels in the copy (a configuration that host measured
before is a hit); a database server (``--storage postgresql://...``) is
used directly, and then the smart strategy's pruner works as on one machine.
Any other SQLite file is the controller's alone: the worker measures
without a cache, and without pruning.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from campaign.tune import store as tune_store
from campaign.tune.measurement import Counters, Protocol, load_workspace_target, measure_config


def shared_storage(url: str) -> bool:
    """Whether every host reaches ``url`` itself (pure): a database server, not a file."""
    return not url.startswith("sqlite")


def worker_storage(url: str, workspace: Path, copy: Path) -> str:
    """The storage the worker's copy uses (pure): the server, the copy's own cache file, or a fresh one."""
    if shared_storage(url):
        return url
    if url == tune_store.default_storage_url(workspace):
        return tune_store.default_storage_url(copy)
    return f"sqlite:///{(copy.parent / 'trial-cache.sqlite').resolve()}"


def measure_on_host(copy: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """On a worker (``campaign.scale.cluster.on_host``): one configuration against the default, in ``copy``.

    The protocol is the controller's but for the workspace, the storage and
    the machine key: this host's.
    """
    from campaign.measure.environment import collect_environment
    from campaign.tune.study import remote_trial

    proto = Protocol(**payload["proto"])
    machine = tune_store.machine_key(tune_store.machine_of(collect_environment()))
    storage = worker_storage(proto.storage, Path(proto.workspace), copy)
    proto = Protocol(**{**asdict(proto), "workspace": str(copy), "storage": storage, "machine": machine})
    target = load_workspace_target(proto.spec, copy)
    store = tune_store.TuneStore(storage)
    counters = Counters()
    on_block = None
    if payload.get("trial") and shared_storage(storage):
        trial = remote_trial(storage, **payload["trial"])

        def on_block(step, ratio):
            trial.report(ratio, step)
            return trial.should_prune()

    try:
        result = measure_config(target, proto, payload["knobs"], store, counters, payload["baseline_outputs"],
                                on_block)
        key = tune_store.cache_key(proto.target, proto.key_text(), payload["knobs"], proto.code, machine)
        stored = not result.get("cached") and store.get(key) is not None
    finally:
        store.close()
    return {"result": result, "machine": machine, "stored": stored,
            "counters": {"runs": counters.runs, "measured": counters.measured, "cache_hits": counters.cache_hits,
                         "measure_s": counters.measure_s}}


class ClusterTrials:
    """The controller's side: sends trials to the cluster, collects each with its host, caches it here too."""

    def __init__(self, cluster, proto: Protocol, store, baseline_outputs: dict):
        self.cluster, self.proto, self.store = cluster, proto, store
        self.baseline_outputs = baseline_outputs
        self.shared = cluster.share(Path(proto.workspace))

    def slots(self) -> int:
        """Trials in flight at once: one per worker (each measures one at a time)."""
        return max(1, self.cluster.workers())

    def submit(self, knobs: dict[str, Any], trial=None):
        payload = {"proto": asdict(self.proto), "knobs": knobs, "baseline_outputs": self.baseline_outputs,
                   "trial": ({"study_name": trial.study.study_name, "trial_id": trial._trial_id}
                             if trial is not None else None)}
        return self.cluster.submit_call(measure_on_host, payload, self.shared, what="campaign-trial")

    def collect(self, handle, counters: Counters, wait: Callable[[], None] | None = None) -> dict[str, Any]:
        """The trial's result, with ``host`` (its fingerprint) and ``requeued`` (hosts that died running it)."""
        future, token = handle
        out, lost = self.cluster.collect(future, token, wait)
        counters.add(**out["counters"])
        result = dict(out["result"], host=out["fingerprint"], requeued=lost)
        if out["stored"] and not shared_storage(self.proto.storage):  # a server: the worker wrote it there
            self._put(out["result"], out["machine"])
        return result

    def _put(self, result: dict[str, Any], machine: str) -> None:
        """The trial's result in the controller's cache, under the host's machine key (the copy's is thrown away)."""
        proto = self.proto
        key = tune_store.cache_key(proto.target, proto.key_text(), result["knobs"], proto.code, machine)
        self.store.put(key, target=proto.target, machine=machine, code=proto.code, protocol=proto.key_text(),
                       knobs=result["knobs"], result={k: v for k, v in result.items() if k != "cached"})
