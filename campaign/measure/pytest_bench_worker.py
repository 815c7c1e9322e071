"""One pytest session that drives a pytest-benchmark suite as a workload (the ``pytest-benchmark`` target kind).

    python -m campaign.measure.pytest_bench_worker PATH CASE [--repeat N] [--seed S]

A fresh ``pytest`` pays seconds of start-up, so one session runs per
process (one benchmark block), not per sample. Only the tests that use the
``benchmark`` fixture run; the fixture each receives is replaced by a timer
that calls the benchmarked function once cold and ``N`` times warm, keeps
the fastest warm time as that benchmark's phase, and its return value
(JSON, or ``repr`` when not JSON-able) as that benchmark's output for TEST.
pytest's own output goes to stderr; the last stdout line is the workload
JSON (``campaign.plugins.target``). The case is exported as ``CAMPAIGN_CASE``
so a suite may scale its inputs. ``--seed`` is the ``campaign_seed`` fixture's
value (0 when absent; a held-out run's seed otherwise, campaign.measure.heldout),
also set as ``config.campaign_seed`` for a suite's own fixture to read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from resource import RUSAGE_SELF, getrusage
from time import perf_counter as _perf_counter, process_time as _process_time  # bound before the user's code loads

import pytest

from campaign.measure import profile_region


def _jsonable(value):
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


class BenchTimer:
    """Stands in for pytest-benchmark's ``benchmark`` fixture: ``benchmark(fn, *args)`` and ``benchmark.pedantic``."""

    def __init__(self, repeat: int):
        self.repeat = max(1, repeat)
        self.first_s: float | None = None
        self.first_cpu_s: float | None = None
        self.warm_s: list[float] = []
        self.warm_cpu_s: list[float] = []
        self.warm_waits: list[int] = []
        self.result = None
        self.called = False
        self.extra_info: dict = {}
        self.group = self.name = None

    def _measure(self, once) -> object:
        if self.called:
            raise RuntimeError("the benchmark fixture can only be used once per test (as with pytest-benchmark)")
        self.called = True
        self.first_s, self.first_cpu_s, result = once()
        for _ in range(self.repeat):
            v0 = getrusage(RUSAGE_SELF).ru_nvcsw
            with profile_region.region():  # PROFILE looks at the warm calls only, not pytest's start-up
                elapsed, cpu, result = once()
            self.warm_s.append(elapsed)
            self.warm_cpu_s.append(cpu)
            self.warm_waits.append(getrusage(RUSAGE_SELF).ru_nvcsw - v0)
        self.result = result
        return result

    def __call__(self, function, *args, **kwargs):
        def once():
            c0, t0 = _process_time(), _perf_counter()
            result = function(*args, **kwargs)
            return _perf_counter() - t0, _process_time() - c0, result

        return self._measure(once)

    def pedantic(self, target, args=(), kwargs=None, setup=None, rounds=1, warmup_rounds=0, iterations=1):
        """As pytest-benchmark's; ``rounds`` and ``warmup_rounds`` give way to campaign's own repeat count."""
        def once():
            call_args, call_kwargs = args, dict(kwargs or {})
            if setup is not None:
                made = setup()
                if made is not None:
                    call_args, call_kwargs = made
            c0, t0 = _process_time(), _perf_counter()
            for _ in range(iterations):
                result = target(*call_args, **call_kwargs)
            return _perf_counter() - t0, _process_time() - c0, result

        return self._measure(once)


@pytest.fixture
def campaign_seed(request):
    """The seed of the suite's inputs: 0 but in a held-out run (``--seed``)."""
    return getattr(request.config, "campaign_seed", 0)


@pytest.fixture
def benchmark():
    """Only used when pytest-benchmark is not installed; replaced by a ``BenchTimer`` before each call."""
    return BenchTimer(1)


def failure_text(report) -> str:
    """The exception with its text (``TypeError: unsupported operand ...``), not the bare ``file:line: TypeError``
    that ends pytest's long report."""
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    message = str(getattr(crash, "message", "") or "").strip()
    if message:
        first = message.splitlines()[0]
        return first if len(first) <= 500 else first[:497] + "..."
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else "failed"


class CampaignBenchPlugin:
    """Selects the benchmark tests, swaps their fixture for a ``BenchTimer`` and collects failures."""

    def __init__(self, repeat: int, seed: int = 0):
        self.repeat = repeat
        self.seed = seed
        self.timers: dict[str, tuple[str, BenchTimer]] = {}
        self.failed: list[str] = []

    def pytest_configure(self, config):
        config.campaign_seed = self.seed
        config.addinivalue_line("markers", "benchmark(**options): pytest-benchmark options (ignored by campaign)")

    def pytest_collection_modifyitems(self, config, items):
        keep = [item for item in items if "benchmark" in getattr(item, "fixturenames", ())]
        dropped = [item for item in items if item not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        original = pyfuncitem.funcargs.get("benchmark")
        if original is not None:
            timer = BenchTimer(self.repeat)
            pyfuncitem.funcargs["benchmark"] = timer
            self.timers[pyfuncitem.nodeid] = (pyfuncitem.name, timer)
        try:
            return (yield)
        finally:  # pytest-benchmark checks its fixture after the call
            if original is not None:
                pyfuncitem.funcargs["benchmark"] = original

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed.append(f"{report.nodeid}: {failure_text(report)}")

    def workload(self) -> dict:
        timed = [(nodeid, name, t) for nodeid, (name, t) in self.timers.items() if t.warm_s]
        names = [name for _, name, _ in timed]
        key = {nodeid: (name if names.count(name) == 1 else nodeid) for nodeid, name, _ in timed}
        repeats = min((len(t.warm_s) for _, _, t in timed), default=0)
        return {
            "outputs": {key[n]: _jsonable(t.result) for n, _, t in timed},
            "phases": {key[n]: min(t.warm_s) for n, _, t in timed},
            "warm_s": [sum(t.warm_s[i] for _, _, t in timed) for i in range(repeats)],
            "warm_cpu_s": [sum(t.warm_cpu_s[i] for _, _, t in timed) for i in range(repeats)],
            "warm_waits": [sum(t.warm_waits[i] for _, _, t in timed) for i in range(repeats)],
            "first_call_s": sum(t.first_s or 0.0 for _, _, t in timed),
            "first_call_cpu_s": sum(t.first_cpu_s or 0.0 for _, _, t in timed),
            "benchmarks": len(timed),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m campaign.measure.pytest_bench_worker")
    parser.add_argument("path")
    parser.add_argument("case")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="the campaign_seed fixture's value (held-out inputs)")
    opts = parser.parse_args(argv)
    os.environ["CAMPAIGN_CASE"] = opts.case
    sys.path.insert(0, os.getcwd())
    plugin = CampaignBenchPlugin(opts.repeat, opts.seed)
    # --disable-warnings: no warnings summary (pytest-benchmark warns once per test that its fixture was
    # swapped: 60 lines above the one failure that matters)
    args = [opts.path, "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:xdist", "--no-header",
            "--disable-warnings"]
    with contextlib.redirect_stdout(sys.stderr):
        code = pytest.main(args, plugins=[plugin, sys.modules[__name__]])
    data = plugin.workload()
    if code != 0 or plugin.failed or not data["benchmarks"]:
        why = "; ".join(plugin.failed) or (f"pytest exited {int(code)}" if code != 0 else
                                             f"no test under {opts.path} uses the benchmark fixture")
        print(json.dumps({"error": f"pytest-benchmark suite {opts.path}: {why}"}))
        return 1
    print(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
