"""Runs configurations one at a time, or several at once in threads, processes or on a cluster's hosts."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from campaign.tune import store as tune_store
from campaign.tune.measurement import Counters, Protocol, load_workspace_target, measure_config
from campaign.tune.space import label
from campaign.tune.study import remote_trial


EXECUTORS = ("process", "thread")


def _measure_in_process(payload: dict) -> dict:
    """Entry point of a worker process (``--executor process``): measure one configuration."""
    proto = Protocol(**payload["proto"])
    target = load_workspace_target(proto.spec, Path(proto.workspace))
    store = tune_store.TuneStore(proto.storage)
    counters = Counters()
    on_block = None
    if payload.get("trial"):
        trial = remote_trial(proto.storage, **payload["trial"])

        def on_block(step, ratio):
            trial.report(ratio, step)
            return trial.should_prune()

    result = measure_config(target, proto, payload["knobs"], store, counters, payload["baseline_outputs"], on_block)
    result["_counters"] = {"runs": counters.runs, "measured": counters.measured, "cache_hits": counters.cache_hits,
                           "measure_s": counters.measure_s}
    store.close()
    return result


class Runner:
    """Runs configurations one at a time, or several at once in threads or processes."""

    def __init__(self, target, proto: Protocol, store, counters: Counters, baseline_outputs: dict,
                 executor: str, concurrency: int, progress: Callable[[str], None], tracker=None, cluster=None):
        self.target, self.proto, self.store, self.counters = target, proto, store, counters
        self.baseline_outputs = baseline_outputs
        self.executor, self.concurrency, self.say = executor, max(1, concurrency), progress
        self.tracker = tracker  # campaign.tune.progress.Tracker: a finished configuration gives back unused runs
        self.results: dict[str, dict] = {}
        self._pool = None
        self.cluster = cluster  # campaign.scale.cluster.Cluster: each trial whole on one of its hosts
        self._remote = None

    def __enter__(self):
        if self.cluster is not None:
            from campaign.tune.remote import ClusterTrials

            self._remote = ClusterTrials(self.cluster, self.proto, self.store, self.baseline_outputs)
            self.concurrency = max(self.concurrency, self._remote.slots())
        elif self.concurrency > 1:
            if self.executor == "process":
                import multiprocessing

                self._pool = ProcessPoolExecutor(self.concurrency, mp_context=multiprocessing.get_context("spawn"))
            else:
                self._pool = ThreadPoolExecutor(self.concurrency)
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def full(self, searched: dict[str, Any]) -> dict[str, Any]:
        return {**self.proto.fixed, **searched}

    def _one(self, searched: dict[str, Any], trial=None) -> dict:
        full = self.full(searched)
        if self._pool is None or self.executor == "thread":
            on_block = None
            if trial is not None:
                def on_block(step, ratio):
                    trial.report(ratio, step)
                    return trial.should_prune()
            return measure_config(self.target, self.proto, full, self.store, self.counters, self.baseline_outputs,
                                  on_block)
        payload = {"proto": asdict(self.proto), "knobs": full, "baseline_outputs": self.baseline_outputs,
                   "trial": ({"study_name": trial.study.study_name, "trial_id": trial._trial_id}
                             if trial is not None else None)}
        return self._pool.submit(_measure_in_process, payload)

    def _collect(self, searched, res) -> dict:
        if not isinstance(res, dict):
            res = res.result()
        c = res.pop("_counters", None)
        if c:
            self.counters.add(**c)
        res["searched"] = dict(searched)
        self.results[tune_store.knobs_json(searched)] = res
        if self.tracker is not None:
            self.tracker.configuration_done(res)
        self.say(_progress_line(res))
        return res

    def run_many(self, configs: list[dict[str, Any]], trials: list | None = None) -> list[dict]:
        """Measure ``configs`` (searched knobs only); already measured ones are returned as they are."""
        out: list[dict | None] = [None] * len(configs)
        todo = []
        for i, cfg in enumerate(configs):
            known = self.results.get(tune_store.knobs_json(cfg))
            if known is not None:
                out[i] = known
            else:
                todo.append(i)
        if self._remote is not None:
            handles = {i: self._remote.submit(self.full(configs[i]), trials[i] if trials else None) for i in todo}
            for i, handle in handles.items():
                out[i] = self._collect(configs[i], self._remote.collect(handle, self.counters))
        elif self._pool is None:
            for i in todo:
                out[i] = self._collect(configs[i], self._one(configs[i], trials[i] if trials else None))
        else:
            futures = {i: (self._pool.submit(self._one, configs[i], trials[i] if trials else None)
                           if self.executor == "thread" else self._one(configs[i], trials[i] if trials else None))
                       for i in todo}
            for i, fut in futures.items():
                res = fut.result()
                out[i] = self._collect(configs[i], res)
        return out  # type: ignore[return-value]


def _progress_line(res: dict) -> str:
    src = "cache" if res.get("cached") else "measured"
    if res.get("host"):
        src += f" on {res['host']['host']}" + (f", after {', '.join(res['requeued'])} died"
                                                  if res.get("requeued") else "")
    if res["status"] in ("ok", "pruned") and res.get("speedup") is not None:
        lo, hi = res["ci"]
        return (f"  {label(res['searched'])}: {res['speedup']:.3f}x [{lo:.3f}, {hi:.3f}] {res.get('verdict')}"
                f" ({res['status']}, {src})")
    return f"  {label(res['searched'])}: {res['status']} ({src}) {res.get('error') or ''}".rstrip()
