"""The measurement settings, from where users look for them.

Precedence, lowest first: built-in defaults, ``[tool.campaign.measure]`` in
``pyproject.toml``, ``[measure]`` in ``campaign.toml``, the environment
(``CAMPAIGN_BENCH_*``, kept for scripts and tests), then command-line flags.
Every key::

    [measure]            # campaign.toml; or [tool.campaign.measure] in pyproject.toml
    budget_s = 120       # wall-clock seconds one benchmark may take
    extend_s = 60        # more seconds for a promising, undecided candidate (0: never; default: half of budget_s)
    max_blocks = 200     # hard cap on blocks (sets the planned looks alpha is spent over)
    min_blocks = 3       # first look at the data
    process_s = 0.03     # warm work per measured process (repeats are calibrated to it; at least 3)
    min_effect = 0.02    # the smallest effect worth resolving (2%): the equivalence margin
    alpha = 0.01         # P(identical code called faster or slower) per benchmark
    metric = "auto"      # which time decides: "auto" (chosen from the runs' evidence), "wall" or "cpu"
    memory_limit = 0.25  # LOG keeps a change whose peak RSS rises more than this (+25%) only with --accept-memory
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from campaign.errors import UserError

ENV = {"budget_s": "CAMPAIGN_BENCH_BUDGET_S", "extend_s": "CAMPAIGN_BENCH_EXTEND_S", "max_blocks": "CAMPAIGN_BENCH_MAX_BLOCKS",
       "min_blocks": "CAMPAIGN_BENCH_MIN_BLOCKS", "process_s": "CAMPAIGN_BENCH_PROCESS_S",
       "min_effect": "CAMPAIGN_BENCH_MIN_EFFECT", "alpha": "CAMPAIGN_BENCH_ALPHA", "metric": "CAMPAIGN_BENCH_METRIC",
       "memory_limit": "CAMPAIGN_BENCH_MEMORY_LIMIT"}


class SettingsError(UserError, ValueError):
    """A measurement setting is missing its meaning: the message names the file, the key and what is allowed."""


@dataclass(frozen=True)
class MeasureSettings:
    budget_s: float = 120.0
    extend_s: float | None = None  # None: half of budget_s
    max_blocks: int = 200
    min_blocks: int = 3
    process_s: float = 0.03
    min_effect: float = 0.02
    alpha: float = 0.01
    metric: str = "auto"
    memory_limit: float = 0.25  # campaign.measure.memory: read at LOG, not by the benchmark

    def bench_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``campaign.measure.bench.benchmark``."""
        kwargs = asdict(self)
        kwargs.pop("memory_limit")
        if kwargs["extend_s"] is None:
            kwargs["extend_s"] = self.budget_s / 2
        return kwargs


_LIMITS = {"budget_s": (0.0, None), "extend_s": (None, None), "max_blocks": (1, None), "min_blocks": (1, None), "process_s": (0.0, None),
           "min_effect": (0.0, 1.0), "alpha": (0.0, 0.5), "memory_limit": (None, None)}


def _coerce(key: str, value: Any, where: str) -> float | int | str:
    if key == "metric":
        from campaign.measure.metric import METRICS

        if value not in METRICS:
            raise SettingsError(f"{where}: metric = {value!r} must be one of {', '.join(repr(m) for m in METRICS)}")
        return value
    kind = {f.name: f.type for f in fields(MeasureSettings)}[key].split(" |")[0]
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value) if kind == "int" and float(value) == int(float(value)) else float(value)
        if kind == "int" and not isinstance(number, int):
            raise ValueError
        if not math.isfinite(number):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise SettingsError(f"{where}: {key} = {value!r} is not a {'whole ' if kind == 'int' else ''}number") from None
    lo, hi = _LIMITS[key]
    if lo is None and number < 0:
        raise SettingsError(f"{where}: {key} = {value!r} must be 0 or more")
    if lo is not None and (number <= lo or (hi is not None and number >= hi)):
        bound = f"above {lo:g}" + (f" and below {hi:g}" if hi is not None else "")
        raise SettingsError(f"{where}: {key} = {value!r} must be {bound}")
    return number


def key_lines(text: str, table: str) -> dict[str, int]:
    """The line (1-based) of each ``key =`` inside the TOML table ``[table]`` (pure; for messages)."""
    lines: dict[str, int] = {}
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$", line)
        if header:
            inside = header.group(1).replace(" ", "") == table
            continue
        match = re.match(r"\s*([A-Za-z0-9_-]+)\s*=", line) if inside else None
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def _table(path: Path, *keys: str) -> tuple[dict, str]:
    if not path.is_file():
        return {}, ""
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot be read as TOML ({exc})") from None
    except RecursionError:
        raise SettingsError(f"{path}: cannot be read as TOML (nested too deeply)") from None
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    where = f"{path.name} [{'.'.join(keys)}]"
    if not isinstance(data, dict):
        raise SettingsError(f"{where} must be a table")
    unknown = sorted(set(data) - set(ENV))
    if unknown:
        raise SettingsError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(ENV)})")
    return data, where


def load_settings(repo_dir: Path | str | None = None, overrides: dict[str, Any] | None = None,
                  environ: dict[str, str] | None = None) -> MeasureSettings:
    """The settings in force for ``repo_dir``: defaults < pyproject < campaign.toml < environment < ``overrides``."""
    values: dict[str, Any] = {}
    if repo_dir is not None:
        repo_dir = Path(repo_dir)
        for path, keys in ((repo_dir / "pyproject.toml", ("tool", "campaign", "measure")),
                           (repo_dir / "campaign.toml", ("measure",))):
            table, where = _table(path, *keys)
            lines = key_lines(path.read_text(), ".".join(keys)) if table else {}
            values.update({k: _coerce(k, v, f"{where}, line {lines[k]}" if k in lines else where)
                           for k, v in table.items()})
    env = os.environ if environ is None else environ
    for key, name in ENV.items():
        if env.get(name):
            values[key] = _coerce(key, env[name], f"environment {name}")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    settings = MeasureSettings(**values)
    if settings.min_blocks > settings.max_blocks:
        raise SettingsError(f"min_blocks ({settings.min_blocks}) is above max_blocks ({settings.max_blocks})")
    return settings
