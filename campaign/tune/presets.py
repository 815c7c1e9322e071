"""How much a tune spends per configuration: data size, warm repeats, blocks, smart trials."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """How much data and how many repeats a tune spends per configuration."""

    name: str
    case: str  # "fast" -> the target's fast case, "full" -> its full-scale case
    subsample: str  # which declared `subsample` value to pass: "min", "median" or "max"
    warm_repeats: int  # warm runs inside each fresh process (median of them = the run's time)
    blocks: int  # mirrored blocks (4 fresh processes each) per configuration
    smart_trials: int  # configurations the smart strategy may measure
    process_s: float  # raise warm repeats until one process measures this much warm work (default config)...
    max_repeats: int  # ...but never more repeats than this
    min_blocks: int = 3


PRESETS = {
    "fast": Preset("fast", "fast", "min", warm_repeats=1, blocks=3, smart_trials=8, process_s=0.05, max_repeats=10),
    "balanced": Preset("balanced", "fast", "median", warm_repeats=2, blocks=8, smart_trials=16, process_s=0.1,
                       max_repeats=50),
    "thorough": Preset("thorough", "full", "max", warm_repeats=3, blocks=12, smart_trials=32, process_s=0.2,
                       max_repeats=50),
}
