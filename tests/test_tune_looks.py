"""The tuner takes verdicts only at the benchmark's planned looks (issue 25: its copy of the loop had drifted).

`thorough` measures 12 blocks; its looks are 3..8, 10 and 12. A `slower` taken at block 9 or 11 would stop a
configuration on an interval whose level was never spent there, and the false-verdict guarantee would not hold.
"""

from __future__ import annotations

from dataclasses import replace

from campaign.measure import stats
from campaign.tune import measurement
from campaign.tune.presets import PRESETS


class _Store:
    def get(self, key):
        return None

    def put(self, key, **kw):
        pass


def _proto():
    preset = PRESETS["thorough"]
    return measurement.Protocol(spec="x", target="x", workspace="/x", case="full", warm_repeats=1,
                                blocks=preset.blocks, min_blocks=preset.min_blocks, timeout_s=10.0, default={"k": 1},
                                fixed={}, code="c", machine="m", storage="s")


def test_a_slower_verdict_stops_a_configuration_only_at_a_planned_look(monkeypatch):
    calls: list[tuple[int, bool]] = []
    real = stats.decide

    def decide(ratios, *args, at_look=True, **kwargs):
        calls.append((len(ratios), at_look))
        d = real(ratios, *args, at_look=at_look, **kwargs)
        # from block 9 on the data would say "slower" wherever a verdict is taken
        return replace(d, verdict="slower") if len(ratios) >= 9 and at_look else d

    monkeypatch.setattr(measurement.stats, "decide", decide)
    monkeypatch.setattr(measurement, "_run_once", lambda target, proto, knobs: (0.01, {}))
    result = measurement.measure_config(object(), _proto(), {"k": 2}, _Store(), measurement.Counters(), None)
    schedule = stats.look_schedule(12, 3)
    assert result["stopped"] == "clearly slower than the default"
    assert result["blocks"] == 10 == min(k for k in schedule if k >= 9)
    assert all(at_look == (n in schedule) for n, at_look in calls)
