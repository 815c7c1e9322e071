"""Targets: what a campaign optimizes, as plugins.

A target declares its name, the files a campaign may edit (``scope``, globs
relative to the workspace root), its workload cases (a fast one for every
iteration, a full-scale one for validation), its named phases, per-output
tolerances, an optional test command, optional knobs for tuning and an
optional playbook (an ordered list of candidate optimizations, used by the
deterministic ``playbook`` agent).

Four ways to name a target (``campaign.plugins.loading.load_target``):

* a built-in name (a package under ``targets/`` exposing ``TARGET``),
* ``module:Class`` (any importable class deriving from ``Target``),
* ``campaign.toml`` in the workspace (shell commands, any language; or
  ``kind = "pytest-benchmark"``, the project's pytest-benchmark suite; or
  ``kind = "perf-test"``, a GSO-style script with ``experiment()``),
* ``pytest-benchmark:PATH`` / ``perf-test:PATH`` (the same, without a campaign.toml).

How one workload run works (the *workload protocol*): the framework runs
``Target.workload_command(case, repeat)`` in a fresh process with the
workspace as the working directory. The command prints, as its LAST line of
stdout, one JSON object::

    {"outputs": {"name": value, ...},          # compared by TEST
     "phases": {"name": seconds, ...},         # one warm run's phase times
     "warm_s": [seconds, ...],                 # optional: warm repeats, whole workload
     "first_call_s": seconds,                  # optional: first (cold) call, incl. JIT
     "compile_s": seconds}                     # optional: JIT compile time when readable

When ``warm_s`` is absent, the sum of ``phases`` (or the process wall time
when there are no phases) is the run's time. Python targets get all of this
for free from ``campaign.measure.worker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from campaign.errors import TargetLoadError

TOLERANCE_KINDS = ("exact", "tight", "loose", "count", "statistical")


@dataclass(frozen=True)
class Tolerance:
    """How one output is compared with the baseline's.

    ``exact``: equal (floats bit for bit, lists element-wise).
    ``tight``: relative difference <= ``rel`` (default 1e-9).
    ``loose``: relative difference <= ``rel`` (must be set, e.g. 0.05 - 0.5).
    ``count``: integers/ratios within ``rel`` (default 0.5): sample counts.
    ``statistical``: the output is a list of per-seed values; the candidate's
    distribution must not differ from the baseline's (rank test, ``alpha``).
    ``abs`` is an absolute floor added to the relative allowance (for values
    near zero).
    """

    kind: str = "exact"
    rel: float | None = None
    abs: float = 0.0
    alpha: float = 0.01

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rel": self.rel, "abs": self.abs, "alpha": self.alpha}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> "Tolerance":
        if isinstance(data, str):
            return cls(kind=data)
        return cls(**{k: v for k, v in data.items() if k in ("kind", "rel", "abs", "alpha")})


@dataclass
class PlaybookEntry:
    """One candidate optimization of a target's catalogue.

    ``apply(workspace)`` edits files inside the target's scope. The other
    fields are what the ``playbook`` agent answers at THINK and PLAN: the
    entry's own hypothesis and numeric prediction, written before the change
    is measured.
    """

    key: str
    title: str
    phase: str
    bottleneck: str
    hypothesis: str
    options: list[str]
    chosen: str
    predicted_speedup: float
    risk: str
    apply: Callable[[Path], None]


@dataclass
class Target:
    """Base class of every target. Subclass and set the class attributes.

    ``workload_command`` returns an argv list (or a shell string) to run one
    case in a fresh process whose last stdout line follows the workload
    protocol (module docstring).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    scope: ClassVar[list[str]] = []
    fast_case: ClassVar[str] = "fast"
    full_case: ClassVar[str] = "full"
    phases: ClassVar[list[str]] = []
    tolerances: ClassVar[dict[str, Tolerance]] = {}
    test_command: ClassVar[str | None] = None
    # the JUnit XML report a non-pytest test command writes (pytest's is requested automatically)
    junit_xml: ClassVar[str | None] = None
    build_command: ClassVar[str | None] = None
    knobs: ClassVar[dict[str, list[Any]]] = {}
    timeout_s: ClassVar[float] = 600.0
    # profile functions by "module:qualname" when the user gives none (line_profiler)
    hot_functions: ClassVar[list[str]] = []

    spec: str = ""  # how the target was named when loaded (stored in the journal)

    def workload_command(self, case: str, repeat: int = 1, knobs: dict[str, Any] | None = None) -> list[str] | str:
        raise NotImplementedError

    # held-out inputs (campaign.measure.heldout): a target that can run a case on a seeded input the agent never
    # sees says so here and implements ``heldout_command``; campaign draws fresh seeds at every TEST
    heldout: ClassVar[bool] = False
    # the first call of a process includes JIT compilation or loading (Numba): the warm-only guard cannot tell that
    # from a result reused across repeats, so it does not apply, and held-out speed is the warm repeat's
    jit: ClassVar[bool] = False

    def heldout_command(self, case: str, repeat: int, seed: int) -> list[str] | str:
        """The command of ``case`` on the held-out input drawn from ``seed`` (only where ``heldout``)."""
        raise NotImplementedError(f"target {self.name!r} declares no held-out inputs")

    def playbook(self) -> list[PlaybookEntry]:
        return []

    def create_workspace(self, dest: Path) -> None:
        """Write the target's baseline files into ``dest`` (for ``campaign demo``)."""
        raise NotImplementedError(f"target {self.name!r} cannot create a workspace")

    def tolerance_for(self, output: str) -> Tolerance:
        return self.tolerances.get(output, Tolerance("exact"))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.spec,
            "description": self.description,
            "scope": list(self.scope),
            "fast_case": self.fast_case,
            "full_case": self.full_case,
            "phases": list(self.phases),
            "tolerances": {k: v.to_dict() for k, v in self.tolerances.items()},
            "test_command": self.test_command,
            "knobs": {k: list(v) for k, v in self.knobs.items()},
            "playbook": [e.key for e in self.playbook()],
        }


class PythonTarget(Target):
    """A target written in Python: implement ``run_case``.

    ``run_case(case, workdir, knobs)`` runs one workload case and returns its
    outputs (JSON-serialisable). A target with held-out inputs sets ``heldout = True``
    and implements ``run_heldout(case, workdir, seed, knobs)``: the case on inputs drawn from ``seed``. Wrap phases in ``campaign.plugins.phases.phase``.
    ``campaign.measure.worker`` calls it once cold and ``repeat`` times warm in a fresh
    process with ``workdir`` first on ``sys.path``, so the workspace's copy of
    the code under optimization is the one imported.
    """

    def run_case(self, case: str, workdir: Path, knobs: dict[str, Any] | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def compile_seconds(self) -> float | None:
        """JIT compile time spent so far in this process, when the target can read it."""
        return None

    def workload_command(self, case: str, repeat: int = 1, knobs: dict[str, Any] | None = None) -> list[str]:
        import json
        import sys

        argv = [sys.executable, "-m", "campaign.measure.worker", self.spec or self.name, case, "--repeat", str(repeat)]
        if knobs:
            argv += ["--knobs", json.dumps(knobs, sort_keys=True)]
        return argv

    def run_heldout(self, case: str, workdir: Path, seed: int, knobs: dict[str, Any] | None = None) -> dict[str, Any]:
        """``case`` on a held-out input drawn from ``seed`` (set ``heldout = True`` where implemented)."""
        raise NotImplementedError(f"target {self.name!r} declares no held-out inputs")

    def heldout_command(self, case: str, repeat: int, seed: int) -> list[str]:
        return [*self.workload_command(case, repeat), "--seed", str(seed)]  # the worker calls run_heldout


class TargetError(TargetLoadError):
    """A target could not be loaded or is malformed (a user mistake, not a bug): a ``UserError``, code ``target_error``,
    whichever command ran into it."""
