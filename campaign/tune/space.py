"""The search space: knob values parsed from the command line, checked against the target's declared knobs."""

from __future__ import annotations

import math
from typing import Any

from campaign.tune.errors import TuneError
from campaign.tune.presets import Preset


SUBSAMPLE_KNOB = "subsample"


def parse_value(text: str) -> Any:
    """A knob value from the command line: int, float, bool, none, else the string."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_knob(text: str) -> tuple[str, list[Any]]:
    """``NAME=V1,V2,...`` -> (name, values). Raises TuneError when malformed or empty."""
    if "=" not in text:
        raise TuneError(
            f"malformed --knob {text!r}: write NAME=V1,V2,... (for example --knob n_jobs=1,2,4)."
        )
    name, _, rest = text.partition("=")
    name = name.strip()
    if not name or not name.replace("_", "").isalnum():
        raise TuneError(f"malformed --knob {text!r}: the knob name must be a word, as in --knob n_jobs=1,2,4.")
    parts = [p for p in (s.strip() for s in rest.split(",")) if p]
    if not parts:
        raise TuneError(f"--knob {name}= has an empty value list: give at least one value, as in --knob {name}=1,2,4.")
    values: list[Any] = []
    for p in parts:
        v = parse_value(p)
        if v not in values:
            values.append(v)
    return name, values


def build_space(target, knob_args: list[str] | dict[str, list[Any]] | None) -> dict[str, list[Any]]:
    """The search space: the --knob arguments checked against the target's declared knobs.

    Without arguments, every declared knob with its declared values.
    """
    declared = dict(getattr(target, "knobs", {}) or {})
    label = target.name or target.spec
    if not declared:
        raise TuneError(f"target {label!r} declares no knobs, so there is nothing to tune (set `knobs` on the target).")
    if not knob_args:
        return {k: list(v) for k, v in declared.items() if k != SUBSAMPLE_KNOB}
    pairs = list(knob_args.items()) if isinstance(knob_args, dict) else [parse_knob(a) for a in knob_args]
    space: dict[str, list[Any]] = {}
    for name, values in pairs:
        if name not in declared:
            raise TuneError(
                f"unknown knob {name!r}: target {label!r} declares {', '.join(sorted(declared))}. "
                f"Tune only knobs the target reads (see `campaign targets`)."
            )
        if not values:
            raise TuneError(f"knob {name!r} has an empty value list.")
        if name in space:
            raise TuneError(f"knob {name!r} is given twice; put all its values in one --knob {name}=V1,V2,...")
        space[name] = list(values)
    return space


def default_knobs(target, space: dict[str, list[Any]]) -> dict[str, Any]:
    """The default configuration: each searched knob's first declared value (e.g. n_jobs=1)."""
    declared = getattr(target, "knobs", {}) or {}
    return {k: (declared[k][0] if declared.get(k) else space[k][0]) for k in space}


def fixed_knobs(target, space: dict[str, list[Any]], preset: Preset) -> dict[str, Any]:
    """Knobs the preset sets for every configuration: ``subsample`` when declared and not searched."""
    declared = getattr(target, "knobs", {}) or {}
    values = declared.get(SUBSAMPLE_KNOB)
    if not values or SUBSAMPLE_KNOB in space:
        return {}
    try:
        ordered = sorted(values)
    except TypeError:
        ordered = list(values)
    pick = {"min": ordered[0], "max": ordered[-1], "median": ordered[(len(ordered) - 1) // 2]}[preset.subsample]
    return {SUBSAMPLE_KNOB: pick}


def space_size(space: dict[str, list[Any]]) -> int:
    return math.prod(len(v) for v in space.values())


def label(knobs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in knobs.items()) or "(no knobs)"
