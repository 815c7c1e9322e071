"""Whole attempts on other hosts, on Dask distributed: ``campaign run --parallel K --cluster SCHEDULER``.

Why Dask distributed (docs/scaling.md says it at length): a pure-Python
install of a few MB (Ray's wheel alone is 79 MB), a scheduler and workers
that start in seconds with one command each, worker *resources* that give
each host exactly one measurement slot (``dask worker --resources
measure=1``), and a scheduler that re-runs the task of a worker that died on
another worker by itself. Celery needs a broker (Redis, RabbitMQ) beside it
and re-delivers a lost task only with late acks and a visibility timeout.

The unit of work is one attempt's whole TEST + BENCHMARK: the controller
sends its working tree (the last kept code with the attempt's patch applied,
the record and the git objects, as one tar), the worker runs
``campaign try`` on that copy under its host's measurement slot, and
returns the events it recorded there with its host's fingerprint. Both arms
of every comparison run on that one host, so no verdict pools blocks from
two hosts. The controller records them in the real journal (it alone writes
it). A worker that dies mid-benchmark loses that measurement only: the
scheduler runs the task again elsewhere, and each start is reported
(``log_event``), so the journal names the host that died.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOPIC = "campaign-measure"
RESOURCE = "measure"
SKIP = ("__pycache__", ".pytest_cache")


def pack(workspace: Path) -> bytes:
    """The workspace (working tree, record, git objects) as one gzip tar, junk and other worktrees left out.

    The attempts' own worktrees come and go while it packs (``.git/worktrees`` is theirs, and no use to a
    copy), and so do git's lock files: whatever vanishes mid-walk is left out, never an error.
    """
    import os

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for root, dirs, files in os.walk(workspace):
            here = Path(root)
            rel = here.relative_to(workspace)
            dirs[:] = [d for d in dirs if d not in SKIP and (rel / d).as_posix() != ".git/worktrees"]
            links = [here / d for d in dirs if (here / d).is_symlink()]  # not walked: added as links
            for path in [here, *links, *(here / f for f in files if f not in SKIP)]:
                try:
                    tar.add(str(path), arcname=(Path("ws") / path.relative_to(workspace)).as_posix(), recursive=False)
                except FileNotFoundError:
                    continue
    return buffer.getvalue()


def unpack(data: bytes, dest: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        if hasattr(tarfile, "tar_filter"):  # Python 3.11.4+: no member may land outside ``dest``
            tar.extractall(dest, filter="tar")
        else:
            tar.extractall(dest)  # our own controller's tar
    workspace = dest / "ws"
    for lease in (workspace / ".git").rglob("driver.json"):  # the controller's lease: this copy is not driven
        lease.unlink()
    return workspace


def on_host(call: Callable[[Path, dict[str, Any]], dict[str, Any]], payload: dict[str, Any], tar: bytes
            ) -> dict[str, Any]:
    """On a worker: ``call(copy, payload)`` on a copy of the controller's workspace, under this host's slot.

    The one unit of work every cluster measurement is (an attempt's TEST +
    BENCHMARK, a tune's trial): whole on this host, one at a time on it.
    Returns ``call``'s result with this host's fingerprint (the load before
    and after) and the seconds it waited for the slot.
    """
    import sys

    from campaign.scale import host
    from campaign.scale.queue import measuring

    fingerprint = host.fingerprint()
    _log_start(payload["token"], fingerprint["host"])
    path = list(sys.path)
    try:
        with tempfile.TemporaryDirectory(prefix="campaign-remote-") as tmp:
            workspace = unpack(tar, Path(tmp))
            with measuring(fingerprint["host"]) as waited:
                result = call(workspace, payload)
    finally:
        sys.path[:] = path  # the copy's code is gone with it: a long-lived worker must not import from it
    return {**result, "fingerprint": {**fingerprint, "load_after": host.fingerprint()["load"]},
            "waited_s": round(waited, 2)}


def measure_attempt(payload: dict[str, Any]) -> dict[str, Any]:
    """On a worker: ``campaign try`` on a copy of the controller's working tree, under this host's slot."""
    return on_host(_try_attempt, payload, payload["tar"])


def _try_attempt(workspace: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """``campaign try`` in the copy; the events it recorded and the patch its try captured.

    With ``plan`` and ``patch`` in ``payload`` (an attempt measured ahead of its turn) the copy is at
    THINK with a clean tree: the attempt's think and plan are recorded there and its patch applied first.
    """
    from campaign.loop.session import Campaign

    camp = Campaign.open(workspace, payload["name"])
    before = len(camp.journal.events())
    if payload.get("plan"):
        _think_and_apply(camp, payload["plan"], payload["patch"], workspace.parent / "attempt.patch")
    camp.try_change(agent=payload.get("agent") or "cli")
    events = camp.journal.events()[before:]
    patches = {e["data"]["patch"]: (camp.record_dir / e["data"]["patch"]).read_bytes()
               for e in events if e["type"] == "implement" and e["data"].get("patch")}
    return {"events": [{"type": e["type"], "data": e["data"]} for e in events], "patches": patches}


def _think_and_apply(camp, plan: dict[str, Any], patch: bytes, path: Path) -> None:
    camp.think(plan.get("hypothesis") or plan["title"], plan["options"], plan["chosen"], plan["predicted_speedup"],
               plan.get("risk") or "not stated")
    camp.plan(plan["phase"], plan["change"], plan.get("bottleneck") or None, plan.get("override_amdahl") or None)
    path.write_bytes(patch)
    camp.repo.git.apply("--whitespace=nowarn", str(path))


def lost(starts: list[str], finished_on: str) -> list[str]:
    """The hosts that started a measurement and never finished it (pure): every start but the finishing one."""
    return starts[:-1] if starts and starts[-1] == finished_on else starts


def _log_start(token: str, name: str) -> None:
    try:
        from distributed import get_worker

        get_worker().log_event(TOPIC, {"token": token, "host": name, "event": "start"})
    except (ImportError, ValueError):  # not on a Dask worker (a direct call in tests)
        pass


class Cluster:
    """The controller's side: one Dask client; ``measure`` sends an attempt and waits for its result."""

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:
            from campaign.errors import UserError

            raise UserError("--cluster needs Dask distributed: pip install 'campaign[cluster]'") from None
        self.address = address
        self.client = (Client(scheduler_file=address, timeout=60) if address.endswith(".json")
                       else Client(address, timeout=60))

    def submit(self, workspace: Path, name: str, agent: str, ahead: dict[str, Any] | None = None):
        """Send one attempt's TEST + BENCHMARK to the cluster; returns (future, token).

        ``ahead`` (``{"plan": ..., "patch": bytes}``): the workspace is at THINK with a clean tree, and the
        worker thinks, plans and applies the patch in its copy before the try.
        """
        token = uuid.uuid4().hex
        payload = {"tar": pack(workspace), "name": name, "agent": agent, "token": token, **(ahead or {})}
        future = self.client.submit(measure_attempt, payload, resources={RESOURCE: 1}, pure=False,
                                    key=f"campaign-try-{token}")
        return future, token

    @staticmethod
    def share(workspace: Path) -> bytes:
        """The workspace packed once for many ``submit_call``s of one job (a tune).

        The bytes travel inside each task, not scattered to one worker beforehand: data scattered to a
        worker that dies is gone, and the scheduler could not run the task again elsewhere.
        """
        return pack(workspace)

    def submit_call(self, call: Callable[[Path, dict[str, Any]], dict[str, Any]], payload: dict[str, Any],
                    shared, what: str = "campaign-call"):
        """Run ``call(copy, payload)`` whole on one worker under its measurement slot (``on_host``); (future, token).

        ``shared`` is ``share(workspace)``'s tar. ``call`` must be importable on the workers (a module's
        function): a tune's trial, both arms of its comparison on that one host.
        """
        token = uuid.uuid4().hex
        future = self.client.submit(on_host, call, {**payload, "token": token}, shared, resources={RESOURCE: 1},
                                    pure=False, key=f"{what}-{token}")
        return future, token

    def collect(self, future, token: str, wait: Callable[[], None] | None = None) -> tuple[dict[str, Any], list[str]]:
        """Wait for a measurement; (its result, the hosts that died running it)."""
        while not future.done():
            if wait is not None:
                wait()
            time.sleep(0.5)
        result = future.result()
        return result, self.lost_hosts(token, result["fingerprint"]["host"])

    def measure(self, workspace: Path, name: str, agent: str, wait: Callable[[], None] | None = None
                ) -> tuple[dict[str, Any], list[str]]:
        """Run one attempt's TEST + BENCHMARK on a worker; (its result, the hosts that died running it)."""
        future, token = self.submit(workspace, name, agent)
        return self.collect(future, token, wait)

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def lost_hosts(self, token: str, finished_on: str) -> list[str]:
        """The hosts that started this measurement and did not finish it (they died): all starts but the last."""
        return lost([msg["host"] for _, msg in self.client.get_events(TOPIC) if msg.get("token") == token], finished_on)

    def close(self) -> None:
        self.client.close()


def record_remote(camp, n: int, result: dict[str, Any]) -> dict[str, Any]:
    """Journal a worker's TEST + BENCHMARK of iteration ``n`` (the controller alone writes the record).

    Each test and benchmark carries the host's fingerprint; the patch the
    worker captured is written beside the controller's record first.
    """
    import hashlib

    from campaign.errors import UserError
    from campaign.loop.machine import Step

    state = camp.state()
    if state.step is not Step.TRY or state.current is None or state.current.n != n:
        raise UserError(f"a remote measurement of iteration {n} came back while {state.step.value} is due")
    recorded = {}
    for event in result["events"]:
        kind, data = event["type"], dict(event["data"])
        if kind not in ("implement", "test", "benchmark"):
            continue
        if kind == "implement" and data.get("patch") in (result.get("patches") or {}):
            patch = result["patches"][data["patch"]]
            if data.get("patch_sha256") and hashlib.sha256(patch).hexdigest() != data["patch_sha256"]:
                raise UserError(f"the worker's patch of iteration {n} is not the one its try recorded")
            data["patch"] = f"patches/iter-{n:02d}.patch"  # measured ahead, the copy may have counted fewer
            (camp.record_dir / data["patch"]).parent.mkdir(parents=True, exist_ok=True)
            (camp.record_dir / data["patch"]).write_bytes(patch)
        if kind in ("test", "benchmark"):
            data["host"] = result["fingerprint"]
        camp.record_event(kind, data, n)
        recorded[kind] = data
    return recorded
