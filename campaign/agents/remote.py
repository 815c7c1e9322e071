"""``campaign run --parallel K --cluster``: the controller's side of measuring attempts on Dask workers.

A mixin of ``ParallelRunner`` (``campaign.agents.parallel``): ``measure_ahead``
sends ready attempts to idle workers while THINK is due, ``_try_remote``
journals an attempt's TEST + BENCHMARK from the worker that ran it (or from
its measurement ahead, while the kept code it measured against stands).
The worker's side is ``campaign.scale.cluster``.
"""

from __future__ import annotations

from typing import Any

from campaign.loop import attempts as att


class RemoteMeasuring:
    """TEST + BENCHMARK on the cluster's workers; expects ``ParallelRunner``'s attributes."""

    cluster: Any = None
    ahead: dict[str, tuple[Any, str, str | None]]
    # ParallelRunner's (and Runner's) attributes this mixin reads, named for the type checker
    campaign: Any
    pending: Any
    agent: Any
    plan_for: Any
    say: Any
    harvest: Any
    note: Any

    def measure_ahead(self, state) -> None:
        """With a cluster, send ready attempts' TEST + BENCHMARK ahead, one per idle worker, against the last kept code.

        Each result is used only if that code is still the last kept one when the attempt's turn comes;
        otherwise the attempt is measured again against the newer code.
        """
        from campaign import vcs

        camp = self.campaign
        if self.cluster is None or vcs.changes(camp.repo, exclude=[camp.record_rel]).files:
            return
        slots = self.cluster.workers() - sum(1 for future, _, _ in self.ahead.values() if not future.done())
        for attempt in sorted((a for a in self.pending() if a.status == "implemented" and a.patch),
                              key=lambda a: (-a.predicted, int(a.id[1:]))):
            have = self.ahead.get(attempt.id)
            if slots <= 0 or (have and have[2] == state.last_kept_commit):
                continue
            if have:
                have[0].cancel()
            patch = (camp.record_dir / attempt.patch).read_bytes()
            future, token = self.cluster.submit(camp.workspace, camp.name, self.agent.name,
                                                {"plan": self.plan_for(attempt, state), "patch": patch})
            self.ahead[attempt.id] = (future, token, state.last_kept_commit)
            slots -= 1
            self.say(f"[{attempt.id}] TEST + BENCHMARK sent to the cluster ahead of its turn (against the last "
                     f"kept code {str(state.last_kept_commit)[:10]})")

    def _try_remote(self, attempt: att.Attempt, n: int) -> None:
        """TEST + BENCHMARK on a cluster worker; a host that died on it is journaled, the result recorded here."""
        from campaign.scale.cluster import record_remote

        camp = self.campaign
        kept_code = camp.state().last_kept_commit
        ahead = self.ahead.pop(attempt.id, None)
        if ahead is not None and ahead[2] != kept_code:
            ahead[0].cancel()
            self.say(f"[iter {n}] {attempt.id}: its measurement ahead was against older code: measured again")
            ahead = None
        self.say(f"[iter {n}] TEST + BENCHMARK ({attempt.id}) on the cluster ({self.cluster.address})"
                 + (": measured ahead, collecting..." if ahead else "..."))
        try:
            result, lost = (self.cluster.collect(ahead[0], ahead[1], wait=self.harvest) if ahead else
                            self.cluster.measure(camp.workspace, camp.name, self.agent.name, wait=self.harvest))
        except Exception as exc:  # noqa: BLE001 - the worker's own error (a refused try): the attempt fails
            camp.fail_attempt(f"the remote TEST + BENCHMARK failed: {type(exc).__name__}: {exc}", agent=self.agent.name)
            return
        for dead in lost:
            self.note(attempt, "requeued", host=dead, iteration=n,
                      why="the host died mid-measurement: its measurement was lost and run again on another host")
            self.say(f"[iter {n}] {attempt.id}: host {dead} died mid-measurement; measured again elsewhere")
        where = result["fingerprint"]["host"]
        recorded = record_remote(camp, n, result)
        test, bench = recorded.get("test") or {}, recorded.get("benchmark") or {}
        if not test.get("passed"):
            first = (test.get("failures") or [{}])[0].get("message", "")
            self.say(f"[iter {n}] TEST FAILED on {where}: {first[:200]}")
        else:
            self.say(f"[iter {n}] BENCHMARK on {where}: {bench.get('verdict')} {bench.get('speedup') or 0:.2f}x")
