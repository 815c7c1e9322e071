"""The record's building blocks: the typed-payload base ``Data`` and the objects nested in events.

``campaign.loop.record`` builds the event classes from these and re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Callable


def optional_of(cls: type[Data]) -> dict[str, Any]:
    return {"load": lambda value: cls.from_json(value) if isinstance(value, Mapping) else None}


def always_of(cls: type[Data]) -> dict[str, Any]:
    """A nested object that is present (empty) even where the record has none."""
    return {"load": lambda value: cls.from_json(value if isinstance(value, Mapping) else {})}


def tuple_of(cls: type[Data]) -> dict[str, Any]:
    """A list of nested objects; what is not a list (an event no schema checks, as ``validate``) reads empty."""
    return {"load": lambda value: tuple(cls.from_json(v) for v in value if isinstance(v, Mapping))
            if isinstance(value, (list, tuple)) else ()}


def _read_only(self: Any, *args: Any, **kwargs: Any) -> None:
    raise TypeError(f"{type(self).__name__} is a frozen record: events are never changed once written")


@dataclass(frozen=True, eq=False)
class Data(dict):
    """Common to every typed payload: the keys it does not know (``extra``) and the JSON it came from.

    It is also that JSON, read-only (a ``dict`` whose writes raise): readers not yet moved to
    attributes keep ``data.get("speedup")``, a result that embeds it serializes as before, and it
    compares equal to the dict it was read from.
    """

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        dict.update(self, self.raw)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in ("extra", "raw"):
                continue
            value = data.get(f.name)
            loader: Callable[[Any], Any] | None = f.metadata.get("load")
            values[f.name] = loader(value) if loader else value
        known = {f.name for f in fields(cls)}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra, raw=dict(data))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied as its JSON, loaded again (a frozen dict cannot be filled key by key)."""
        return (type(self).from_json, (dict(self.raw),))

    def to_json(self) -> dict[str, Any]:
        """The JSON this was loaded from (unknown keys included), as a plain dict."""
        return dict(self.raw)

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _read_only  # type: ignore[assignment]
    __hash__ = None


# -- nested objects ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison(Data):
    """One measured comparison: a speedup, its interval (``ci_kind`` "ci" or "range") and the verdict."""

    speedup: float | None = None
    ci: list[float] | None = None
    ci_level: float | None = None
    ci_kind: str | None = None
    verdict: str | None = None
    samples: dict[str, Any] | None = None  # the blocks it was decided on (ratios, A/A pairs)


@dataclass(frozen=True, eq=False)
class Extension(Data):
    """``campaign try --more`` on a benchmark: each extension's blocks before and added, on which metric."""

    history: list[dict[str, Any]] | None = None
    metric: str | None = None
    level: float | None = None

    @property
    def count(self) -> int:
        """How many times the benchmark was extended (0: never)."""
        return len(self.history or [])


@dataclass(frozen=True, eq=False)
class Timings(Data):
    warm_s: float | None = None
    first_call_s: float | None = None
    compile_s: float | None = None
    block_s: float | None = None  # a block's time (geometric mean over blocks), where the kind records one
    phases: dict[str, float] | None = None  # per-phase seconds


@dataclass(frozen=True, eq=False)
class FullCase(Data):
    """The full-scale case's benchmark (inside a benchmark or the finish)."""

    case: str | None = None
    speedup: float | None = None
    ci: list[float] | None = None
    ci_level: float | None = None
    ci_kind: str | None = None
    verdict: str | None = None
    vs_baseline: Comparison = field(default_factory=Comparison, metadata=always_of(Comparison))
    candidate: Timings = field(default_factory=Timings, metadata=always_of(Timings))
    blocks: int | None = None
    metric: str | None = None
    measured_at_iteration: int | None = None  # FINISH's: taken from this iteration's BENCHMARK (the same trees)


@dataclass(frozen=True, eq=False)
class Failure(Data):
    output: str | None = None
    expected: Any = None
    actual: Any = None
    tolerance: Any = None
    message: str | None = None
    case: str | None = None


@dataclass(frozen=True, eq=False)
class TestCommand(Data):
    __test__ = False  # not a pytest class

    cmd: str | None = None
    rc: int | None = None
    passed: bool | None = None
    tail: str | None = None
    stderr: str | None = None
    failed_tests: list[dict[str, Any]] | None = None


@dataclass(frozen=True, eq=False)
class Postmortem(Data):
    why: str | None = None
    lesson: str | None = None


@dataclass(frozen=True, eq=False)
class Noise(Data):
    run_noise: float | None = None
    block_sd: float | None = None
    drift: float | None = None


@dataclass(frozen=True, eq=False)
class Load(Data):
    blocks: list[dict[str, Any]] | None = None
    note: str | None = None


@dataclass(frozen=True, eq=False)
class Checked(Data):
    """The full-case TEST a finish refers to."""

    case: str | None = None
    commit: str | None = None
    passed: bool | None = None
