"""Targets declared in a ``campaign.toml``: shell commands, any language.

Keys (``[target]`` is required; everything else optional unless marked)::

    [target]
    name = "primes"                       # required: the target's name
    description = "count primes below n"
    scope = ["primes.py", "src/**/*.c"]   # required: globs (relative to the repo root)
                                          #   of the files a campaign may edit
    kind = "command"                      # or "pytest-benchmark" / "perf-test": then path
                                          #   names the suite / script and run is derived
                                          #   (campaign.plugins.pytest_bench_target,
                                          #   campaign.plugins.perf_test_target)
    run = "python bench.py {case} {repeat}"   # required for kind "command": runs ONE workload case in a
                                          #   fresh process; prints the workload JSON
                                          #   (see campaign.plugins.target) as its LAST stdout line.
                                          #   {case}, {repeat}, {knobs} (a quoted JSON
                                          #   object), {python} (the project's
                                          #   interpreter) and {seed} are substituted.
                                          #   {seed} declares held-out inputs: 0 in every
                                          #   run but the held-out ones, where campaign
                                          #   draws fresh seeds at each TEST (the input
                                          #   must depend on it; docs/integrity.md). The two
                                          #   kinds pass it on when the suite uses a
                                          #   campaign_seed fixture / setup takes seed. A Python
                                          #   command is profiled by function and line.
    fast_case = "fast"                    # the case run every iteration (default "fast")
    full_case = "full"                    # the full-scale case (default "full")
    phases = ["sieve", "sum"]             # the phase names the workload reports
    test = "python -m pytest -q"          # the project's own test command (TEST step)
    junit_xml = "build/tests.xml"         # the JUnit XML report a non-pytest test command
                                          #   writes (failing tests are named); pytest's is automatic
    build = "make"                        # run before TEST (compiled languages)
    timeout_s = 600                       # per workload run (default 600)
    hot_functions = ["primes:count"]      # line-profiled when `campaign profile` names none
    jit = false                           # true: a process's first call compiles or loads JIT code
                                          #   (Numba): docs/integrity.md, the warm-only guard

    [tolerances]                          # per output name (or glob); default "exact"
    count = "exact"
    ratio = { kind = "loose", rel = 0.1 }  # kinds: exact, tight, loose, count, statistical

    [knobs]                               # tunable parameters: name -> candidate values
    block = [64, 128, 256]

    [environment]                         # whose Python runs the workload, build and tests
    python = ".venv/bin/python"           # default: the project's .venv, else VIRTUAL_ENV, else
                                          #   `uv run` (a uv.lock), else campaign's own
                                          #   (campaign.plugins.project_env)

A malformed file or a missing/ill-typed key raises ``TargetError`` with one
paragraph that names the key and shows the fix.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from pathlib import Path
from typing import Any

from campaign.plugins.target import TOLERANCE_KINDS, Target, TargetError, Tolerance

PUBLIC_SEED = 0  # what {seed} is in every run but a held-out one

EXAMPLE = (
    'a minimal campaign.toml is:  [target]  name = "mytarget"  scope = ["src/*.py"]  '
    'run = "python bench.py {case}"  (the run command prints the workload JSON as its last line; '
    "see docs/targets.md for every key)"
)

_TARGET_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    # key: (type, required)
    "name": (str, True),
    "kind": (str, False),
    "path": (str, False),
    "description": (str, False),
    "scope": (list, True),
    "run": (str, False),  # required for kind "command"
    "fast_case": (str, False),
    "full_case": (str, False),
    "phases": (list, False),
    "test": (str, False),
    "junit_xml": (str, False),
    "build": (str, False),
    "timeout_s": ((int, float), False),
    "hot_functions": (list, False),
    "jit": (bool, False),
}


class TomlTarget(Target):
    """A target whose workload is a shell command (instance attributes shadow the class ones)."""

    def __init__(self, path: Path, table: dict[str, Any], tolerances: dict[str, Tolerance], knobs: dict[str, list],
                 environment: dict[str, Any] | None = None):
        self.path = path
        self.name = table["name"]
        self.description = table.get("description", "")
        self.scope = list(table["scope"])
        self.kind = table.get("kind", "command")
        self.run_template = table["run"]
        self.fast_case = table.get("fast_case", "fast")
        self.full_case = table.get("full_case", "full")
        self.phases = list(table.get("phases", []))
        self.test_template = table.get("test")
        self.junit_xml = table.get("junit_xml")
        self.build_template = table.get("build")
        self.declared_python = environment.get("python") if environment else None
        self.env_also: tuple[Path, ...] = ()  # more places for the project's .venv (a replay: the record's project)
        self._project_env = None
        self.timeout_s = float(table.get("timeout_s", 600.0))
        self.hot_functions = list(table.get("hot_functions", []))
        self.tolerances = tolerances
        self.knobs = knobs
        self.spec = str(path)
        self.heldout = "{seed}" in self.run_template  # held-out inputs: campaign.measure.heldout
        self.jit = bool(table.get("jit", False))

    @property
    def project_env(self):
        """The project's interpreter (``campaign.plugins.project_env``), found once, on first use."""
        if self._project_env is None:
            from campaign.plugins.project_env import ProjectEnvError, resolve_project_env

            try:
                self._project_env = resolve_project_env(self.path.parent, self.declared_python, also=self.env_also)
            except ProjectEnvError as exc:
                raise TargetError(f"{self.path}: {exc}") from None
        return self._project_env

    @property
    def python(self) -> str:
        return self.project_env.python

    @property
    def test_command(self) -> str | None:
        return _with_python(self.test_template, self.python)

    @property
    def build_command(self) -> str | None:
        return _with_python(self.build_template, self.python)

    def workload_command(self, case: str, repeat: int = 1, knobs: dict[str, Any] | None = None,
                         seed: int = PUBLIC_SEED) -> str:
        cmd = self.run_template.replace("{python}", shlex.quote(self.python))
        cmd = cmd.replace("{case}", shlex.quote(case)).replace("{repeat}", str(repeat)).replace("{seed}", str(seed))
        return self._with_reference_dir(cmd.replace("{knobs}", shlex.quote(json.dumps(knobs or {}, sort_keys=True))))
    def _with_reference_dir(self, cmd: str) -> str:
        """A perf-test run names its stored reference's folder: sealed runs happen in a copy without ``.git``."""
        from campaign.plugins.perf_test_target import reference_root

        if self.kind != "perf-test":
            return cmd
        root = reference_root(self.path.parent)
        return f"{cmd} --reference-dir {shlex.quote(str(root))}" if root else cmd

    def heldout_command(self, case: str, repeat: int, seed: int) -> str:
        return self.workload_command(case, repeat, None, seed)

    def describe(self) -> dict[str, Any]:
        data = super().describe()
        data["run"] = self.run_template
        data["kind"] = self.kind
        data["build_command"] = self.build_command
        return data


def _with_python(command: str | None, python: str | None = None) -> str | None:
    return command.replace("{python}", shlex.quote(python or sys.executable)) if command else command


def _bad(path: Path, what: str) -> TargetError:
    return TargetError(f"{path}: {what}. Fix campaign.toml and run the command again; {EXAMPLE}.")


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML document (a ``TargetError`` that says why it cannot be read)."""
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TargetError(f"{path} does not exist. Create it (or name another target); {EXAMPLE}.") from None
    except OSError as exc:
        raise TargetError(f"cannot read {path}: {exc}.") from None
    try:
        return tomllib.loads(raw.decode("utf-8", errors="replace"))
    except tomllib.TOMLDecodeError as exc:
        raise _bad(path, f"is not valid TOML ({exc})") from None
    except RecursionError:
        raise _bad(path, "is nested too deeply to be read") from None


def _check_keys(path: Path, table: dict[str, Any]) -> None:
    """Every required key of ``[target]`` there, every key of its type, none unknown."""
    for key, (kind, required) in _TARGET_KEYS.items():
        if key not in table:
            if required:
                raise _bad(path, f"[target] is missing the required key {key!r}")
            continue
        if not isinstance(table[key], kind) or (isinstance(table[key], bool) and kind is not bool):
            raise _bad(path, f"[target] {key} must be a {getattr(kind, '__name__', 'number')}, not {table[key]!r}")
    unknown = sorted(set(table) - set(_TARGET_KEYS))
    if unknown:
        raise _bad(path, f"[target] has unknown key(s) {', '.join(unknown)} (known: {', '.join(_TARGET_KEYS)})")


def _check_target(path: Path, table: dict[str, Any]) -> None:
    """``[target]``: its keys, then the values that must mean something (scope, phases, name, run, timeout)."""
    _check_keys(path, table)
    if not table["scope"] or not all(isinstance(g, str) and g for g in table["scope"]):
        raise _bad(path, "[target] scope must be a non-empty list of glob strings (the files a campaign may edit)")
    for key, what in (("phases", "phase names"), ("hot_functions", "'module:function' strings")):
        bad = [v for v in table.get(key, []) if not isinstance(v, str) or not v.strip()
               or (key == "hot_functions" and ":" not in v)]
        if bad:
            raise _bad(path, f"[target] {key} must be a list of {what}; {bad[0]!r} is not one")
    apply_kind(path, table)
    if not table["name"].strip() or not table["run"].strip():
        raise _bad(path, "[target] name and run must not be empty")
    if not (0 < table.get("timeout_s", 1) < math.inf):  # also refuses nan
        raise _bad(path, f"[target] timeout_s must be a positive, finite number of seconds, not {table['timeout_s']!r}")


def _knobs(path: Path, doc: dict[str, Any]) -> dict[str, list]:
    knobs = {}
    for knob, values in (doc.get("knobs") or {}).items():
        if not isinstance(values, list) or not values:
            raise _bad(path, f"[knobs] {knob} must be a non-empty list of candidate values")
        knobs[knob] = values
    return knobs


def _environment(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """``[environment]`` (one key, ``python``); and no table campaign does not know."""
    # [measure] holds the measurement settings (read by campaign.measure.settings, not by the target)
    environment = doc.get("environment") or {}
    if not isinstance(environment, dict) or set(environment) - {"python"} or not isinstance(
            environment.get("python", ""), str):
        raise _bad(path, "[environment] takes one key, python = \"PATH\" (the project's interpreter or venv)")
    extra = sorted(set(doc) - {"target", "tolerances", "knobs", "measure", "environment"})
    if extra:
        raise _bad(path, f"has unknown table(s) {', '.join(extra)} (known: target, tolerances, knobs, measure, "
                         f"environment)")
    return environment


def load_toml_target(path: Path | str) -> TomlTarget:
    """Load and validate a ``campaign.toml``; ``TargetError`` with a one-paragraph message when bad."""
    path = Path(path)
    doc = _read_toml(path)
    table = doc.get("target")
    if not isinstance(table, dict):
        raise _bad(path, "has no [target] table")
    _check_target(path, table)
    tolerances = {output: _tolerance(path, output, spec) for output, spec in (doc.get("tolerances") or {}).items()}
    knobs = _knobs(path, doc)
    return TomlTarget(path, table, tolerances, knobs, _environment(path, doc))


def apply_kind(path: Path, table: dict[str, Any]) -> None:
    """Fill ``run`` for the target kinds that derive it (pytest-benchmark, perf-test); check their keys."""
    from campaign.plugins import perf_test_target, pytest_bench_target

    kinds = {pytest_bench_target.KIND: (pytest_bench_target, "benchmarks/", "the suite to run"),
             perf_test_target.KIND: (perf_test_target, "perf_test.py", "the script with experiment()")}
    kind = table.get("kind", "command")
    if kind == "command":
        if "run" not in table:
            raise _bad(path, "[target] is missing the required key 'run'")
        if "path" in table:
            raise _bad(path, "[target] path is only for kind = \"pytest-benchmark\" or \"perf-test\"")
    elif kind in kinds:
        module, example, what = kinds[kind]
        if not table.get("path"):
            raise _bad(path, f'[target] kind = "{kind}" needs path = "{example}" ({what})')
        if "run" in table:
            raise _bad(path, f'[target] kind = "{kind}" derives its run command; remove run')
        # held-out inputs when the suite or script declares them (a campaign_seed fixture, setup(seed))
        table["run"] = module.run_template(table["path"], module.declares_heldout(path.parent, table["path"]))
    else:
        raise _bad(path, f"[target] kind must be \"command\", {', '.join(repr(k) for k in kinds)}, not {kind!r}")


def _tolerance(path: Path, output: str, spec: Any) -> Tolerance:
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, dict):
        raise _bad(path, f"[tolerances] {output} must be a kind string or a table like {{kind = \"loose\", rel = 0.1}}")
    unknown = sorted(set(spec) - {"kind", "rel", "abs", "alpha"})
    if unknown:
        raise _bad(path, f"[tolerances] {output} has unknown key(s) {', '.join(unknown)} (known: kind, rel, abs, alpha)")
    kind = spec.get("kind", "exact")
    if kind not in TOLERANCE_KINDS:
        raise _bad(path, f"[tolerances] {output} has kind {kind!r}; use one of {', '.join(TOLERANCE_KINDS)}")
    if kind == "loose" and not isinstance(spec.get("rel"), (int, float)):
        raise _bad(path, f"[tolerances] {output} is 'loose' and needs a numeric rel (e.g. rel = 0.1)")
    for key in ("rel", "abs", "alpha"):
        if key in spec and (not isinstance(spec[key], (int, float)) or isinstance(spec[key], bool)
                            or not 0 <= spec[key] < math.inf):  # also refuses nan
            raise _bad(path, f"[tolerances] {output} {key} must be a non-negative, finite number, not {spec[key]!r}")
    return Tolerance.from_dict(spec)
