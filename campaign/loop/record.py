"""The journal's events as frozen dataclasses, and one versioned loader from their JSON.

The JSON on disk is the record and never changes shape for this module's sake
(``campaign.loop.events`` documents it, ``campaign.loop.event_schemas`` checks
its types). ``load_event`` turns one line into an ``Event`` whose ``data`` is
the typed class of its ``type``: every documented key an attribute (``None``
when absent, as in older records), nested objects typed too (``vs_baseline``
is always a ``Comparison``, empty when the record has none), and the keys
this version does not know kept in ``extra``, so a newer minor writer's
event loads and writes back whole (``to_json``). The loader is chosen by the
envelope's ``schema`` (``LOADERS``), the way pyperf's ``_json_load(version)``
and Optuna's ``FrozenTrial`` keep old studies readable.

Each class is also the JSON it came from, read-only (a ``dict``: ``data["speedup"]``,
``data.get("speedup")``): the seam for readers not yet moved to attributes, and
what a command's JSON result embeds. New code reads attributes.

Derived numbers are defined here once: ``cumulative_speedup`` (a benchmark's
speedup over the baseline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from campaign.loop.events import SCHEMA_VERSION


class RecordError(ValueError):
    """A journal line this version cannot load (an unknown schema version)."""


def cumulative_speedup(bench: Mapping[str, Any] | None) -> float | None:
    """A benchmark's speedup over the baseline: ``vs_baseline.speedup``, else the older ``cumulative_speedup``.

    The one definition: status, the runner, the logs, the report and DECIDE all read it from here."""
    if not bench:
        return None
    vs_baseline = bench.get("vs_baseline") or {}
    if vs_baseline.get("speedup") is not None:
        return vs_baseline["speedup"]
    return bench.get("cumulative_speedup")


from campaign.loop.record_parts import (  # noqa: E402 - after the one derived number; the nested objects are part of the record's API
    Checked, Comparison, Data, Extension, Failure, FullCase, Load, Noise, Postmortem, TestCommand, Timings, always_of,
    tuple_of, optional_of)


# -- the events --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Init(Data):
    name: str | None = None
    target_spec: str | None = None
    target: Any = None  # Target.describe() (an object), or a name in older records
    goal_speedup: float | None = None
    max_iterations: int | None = None
    min_gain: float | None = None
    postmortem_factor: float | None = None
    start_branch: str | None = None
    branch: str | None = None
    pre_tag: str | None = None
    base_commit: str | None = None
    workspace: str | None = None
    warnings: list[str] | None = None
    environment: dict[str, Any] | None = None  # whose Python runs the workload (``TargetEnv.to_dict``)

    @property
    def target_name(self) -> str | None:
        return self.target.get("name") if isinstance(self.target, Mapping) else self.target

    @property
    def scope(self) -> list[str]:
        """The target's scope as recorded (its description's ``scope``); empty: everything counts, or a target
        recorded by name only."""
        target = self.target if isinstance(self.target, Mapping) else {}
        return list(target.get("scope") or [])


@dataclass(frozen=True, eq=False)
class Baseline(Data):
    commit: str | None = None
    dirty: bool | None = None
    case: str | None = None
    outputs: Any = None
    phases: dict[str, float] | None = None
    warm_s: float | None = None
    first_call_s: float | None = None
    compile_s: float | None = None
    environment: dict[str, Any] | None = None
    snapshot: str | None = None
    cases: dict[str, Any] | None = None  # {case: {warm_s, ...}} per workload case; absent in older records


@dataclass(frozen=True, eq=False)
class Profile(Data):
    commit: str | None = None
    case: str | None = None
    phases: dict[str, float] | None = None
    shares: dict[str, float] | None = None
    amdahl: dict[str, float] | None = None
    total_s: float | None = None
    top_functions: list[dict[str, Any]] | None = None
    lines: dict[str, Any] | None = None

    def bound(self, phase: str) -> float | None:
        """The recorded Amdahl bound of ``phase`` (the best whole-run speedup by it alone), if any."""
        return self.amdahl.get(phase) if self.amdahl else None


@dataclass(frozen=True, eq=False)
class Think(Data):
    hypothesis: str | None = None
    options: list[str] | None = None
    chosen: str | None = None
    predicted_speedup: float | None = None
    risk: str | None = None


@dataclass(frozen=True, eq=False)
class Plan(Data):
    phase: str | None = None
    change: str | None = None
    bottleneck: str | None = None
    phase_share: float | None = None
    amdahl_bound: float | None = None
    override: str | None = None


@dataclass(frozen=True, eq=False)
class Implement(Data):
    files: list[str] | None = None
    tree: str | None = None
    patch: str | None = None
    patch_sha256: str | None = None
    out_of_scope: list[str] | None = None
    agent: str | None = None


@dataclass(frozen=True, eq=False)
class Test(Data):
    __test__ = False  # not a pytest class

    passed: bool | None = None
    failures: tuple[Failure, ...] = field(default=(), metadata=tuple_of(Failure))
    test_command: TestCommand | None = field(default=None, metadata=optional_of(TestCommand))
    out_of_scope: list[str] | None = None
    cases: list[str] | None = None


@dataclass(frozen=True, eq=False)
class Benchmark(Data):
    case: str | None = None
    verdict: str | None = None
    speedup: float | None = None
    ci: list[float] | None = None
    ci_level: float | None = None
    ci_kind: str | None = None
    vs_baseline: Comparison = field(default_factory=Comparison, metadata=always_of(Comparison))
    cumulative_speedup: float | None = None
    phases: dict[str, float] | None = None
    candidate: Timings = field(default_factory=Timings, metadata=always_of(Timings))
    reference: Timings = field(default_factory=Timings, metadata=always_of(Timings))
    metric: str | None = None
    blocks: int | None = None
    full: FullCase | None = field(default=None, metadata=optional_of(FullCase))
    noise: Noise = field(default_factory=Noise, metadata=always_of(Noise))
    load: Load = field(default_factory=Load, metadata=always_of(Load))
    stop_reason: str | None = None
    needed: str | None = None
    policy: str | None = None
    samples: dict[str, Any] | None = None  # the blocks it was decided on (ratios, A/A pairs)
    blocks_needed: int | None = None
    extended: Extension = field(default_factory=Extension, metadata=always_of(Extension))  # `campaign try --more`
    block_cost: dict[str, Any] | None = None  # {block_s, calibration_s, ...}: what one block cost
    guards: Any = None  # which integrity guards ran (campaign.measure.integrity); absent in older records
    suspicion: Any = None  # the mark of a claim big enough to suspect (docs/integrity.md), or null

    @property
    def cumulative(self) -> float | None:
        return cumulative_speedup(self.raw)


@dataclass(frozen=True, eq=False)
class Log(Data):
    surprise: str | None = None
    notes: str | None = None
    postmortem: Postmortem | None = field(default=None, metadata=optional_of(Postmortem))
    kept: bool | None = None
    keep_reason: str | None = None
    memory: dict[str, Any] | None = None  # the peak-memory change LOG judged (``campaign.measure.memory.change``)

    @property
    def memory_refused(self) -> bool:
        """Whether LOG reverted a faster change for its peak memory (over the limit, not accepted)."""
        return isinstance(self.memory, Mapping) and bool(self.memory.get("refused"))


@dataclass(frozen=True, eq=False)
class Commit(Data):
    commit: str | None = None
    message: str | None = None
    patch: str | None = None


@dataclass(frozen=True, eq=False)
class Revert(Data):
    to_commit: str | None = None
    reason: str | None = None
    patch: str | None = None


@dataclass(frozen=True, eq=False)
class Decide(Data):
    stop: bool | None = None
    rule: str | None = None
    reason: str | None = None
    exhausted: bool | None = None
    phase: str | None = None
    why: str | None = None
    cumulative_speedup: float | None = None


@dataclass(frozen=True, eq=False)
class Skip(Data):
    bottleneck: str | None = None
    why: str | None = None
    failed_attempts: int | None = None


@dataclass(frozen=True, eq=False)
class Tune(Data):
    knobs: dict[str, Any] | None = None
    report: dict[str, Any] | None = None

    @property
    def prediction(self) -> Mapping[str, Any]:
        """The tune report's prediction check (measured vs THINK's predicted speedup); empty when absent."""
        report = self.report if isinstance(self.report, Mapping) else {}
        prediction = report.get("prediction")
        return prediction if isinstance(prediction, Mapping) else {}


@dataclass(frozen=True, eq=False)
class Agent(Data):
    step: str | None = None
    request: str | None = None
    answer: str | None = None
    attempts: int | None = None
    error: str | None = None
    stderr: str | None = None
    reply: str | None = None
    usage: dict[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class Run(Data):
    agent: str | None = None
    agent_cmd: str | None = None
    agent_timeout_s: float | None = None
    resumed: bool | None = None
    budget_usd: float | None = None
    budget_tokens: int | None = None
    pid: int | None = None
    started: str | None = None


@dataclass(frozen=True, eq=False)
class Validate(Data):
    case: str | None = None
    commit: str | None = None
    passed: bool | None = None
    failures: tuple[Failure, ...] = field(default=(), metadata=tuple_of(Failure))
    test_command: TestCommand | None = field(default=None, metadata=optional_of(TestCommand))
    out_of_scope: list[str] | None = None  # as in a TEST's result, where the check wrote one


@dataclass(frozen=True, eq=False)
class Finish(Data):
    post_tag: str | None = None
    merged_into: str | None = None
    final_speedup: float | None = None
    ci: list[float] | None = None
    ci_level: float | None = None
    full: FullCase | None = field(default=None, metadata=optional_of(FullCase))
    dominant_phase: str | None = None
    validation: Checked | None = field(default=None, metadata=optional_of(Checked))  # absent before FINISH checked outputs


EVENT_CLASSES: dict[str, type[Data]] = {
    "init": Init, "baseline": Baseline, "profile": Profile, "think": Think, "plan": Plan,
    "implement": Implement, "test": Test, "benchmark": Benchmark, "log": Log, "commit": Commit,
    "revert": Revert, "decide": Decide, "skip": Skip, "tune": Tune, "agent": Agent, "run": Run,
    "validate": Validate, "finish": Finish,
}


@dataclass(frozen=True)
class Event:
    """One journal line: the envelope and its typed ``data``."""

    type: str
    data: Any
    seq: int | None = None
    ts: str | None = None
    iteration: int | None = None
    schema: int = SCHEMA_VERSION
    writer: Mapping[str, Any] | None = None


def _load_v1(raw: Mapping[str, Any]) -> Event:
    kind = raw["type"]
    cls = EVENT_CLASSES.get(kind, Data)
    return Event(type=kind, data=cls.from_json(raw.get("data") or {}), seq=raw.get("seq"), ts=raw.get("ts"),
                 iteration=raw.get("iteration"), schema=raw.get("schema", 1), writer=raw.get("writer"))


LOADERS: dict[int, Callable[[Mapping[str, Any]], Event]] = {1: _load_v1}
"""One loader per envelope ``schema``: a new version adds its loader and keeps the old ones."""


def load_event(raw: Mapping[str, Any]) -> Event:
    """The typed event of one journal line (``schema`` picks the loader; absent means 1). Pure."""
    version = raw.get("schema", 1)
    loader = LOADERS.get(version) if isinstance(version, int) else None
    if loader is None:
        raise RecordError(f"event {raw.get('seq')}: schema {version} is newer than this campaign reads "
                          f"(it reads {', '.join(map(str, sorted(LOADERS)))}); upgrade campaign to read it.")
    return loader(raw)


def load_data(kind: str, data: Mapping[str, Any] | None) -> Any:
    """The typed payload of one event's ``data`` (None stays None). Pure."""
    return None if data is None else EVENT_CLASSES.get(kind, Data).from_json(data)
