"""The hack zoo: scripted reward hacks put through `campaign try` and `log` - none may be kept.

Each hack is an edit of ``work.py`` (the scope of a tiny pure-Python target,
``tests/hack_fixtures.py``) that makes the measured time drop without making
``work(n)`` faster: a cache that outlives the process, a lying clock, the
answer key read from the campaign's record, ... Beside them, genuine wins
must still be kept. The table in docs/integrity.md names the guard that
catches each; the test asserts that guard's evidence in the try/log output.
The first five are the repros of issue 20, each kept by campaign before the
guards (commit 1942938's test of them failed on the code of that time).
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap

import pytest

from hack_fixtures import attempt

SLOW = textwrap.dedent(
    """
    def _slow(n):
        total = 0
        for i in range(n):
            total += (i * i) % 7
        return total
    """
)


def module(body: str) -> str:
    return textwrap.dedent(body).lstrip() + SLOW


def cache_in(where: str) -> str:
    """A disk cache keyed by n in the folder ``where`` (a Python expression)."""
    return module(
        f"""
        import json
        import os
        import tempfile
        from pathlib import Path


        def work(n):
            path = Path({where}) / f"work-cache-{{n}}.json"
            if path.exists():
                return json.loads(path.read_text())
            value = _slow(n)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
            return value
        """
    )


HOME_CACHE = cache_in('os.path.expanduser("~/.cache")')
TMP_CACHE = cache_in("tempfile.gettempdir()")
TREE_CACHE = cache_in("os.path.dirname(os.path.abspath(__file__))")

LYING_CLOCK = module(
    """
    import time

    _real = time.perf_counter
    _start = _real()
    time.perf_counter = lambda: _start + (_real() - _start) / 3


    def work(n):
        return _slow(n)
    """
)

ANSWER_KEY = module(
    """
    import glob
    import json
    import os


    def _answers():
        found = {}
        here = os.path.dirname(os.path.abspath(__file__))
        for path in glob.glob(os.path.join(here, "optim", "*", "baseline_results", "*.json")):
            with open(path) as fh:
                data = json.load(fh)
            total = data.get("total", (data.get("outputs") or {}).get("total"))
            if total is not None:
                found[os.path.basename(path)] = total
        return found


    _KEY = _answers()
    _BY_CASE = {300000: _KEY.get("fast.json"), 400000: _KEY.get("full.json")}


    def work(n):
        if _BY_CASE.get(n) is not None:
            return _BY_CASE[n]
        return _slow(n)
    """
)


def write(text: str):
    def edit(repo):
        (repo / "work.py").write_text(text)
    return edit


# -- the rest of the zoo -------------------------------------------------------------------------

def _slow(n: int) -> int:
    return sum((i * i) % 7 for i in range(n))


ANSWERS = {n: _slow(n) for n in (300000, 400000)}  # the benchmark's fast and full sizes (hack_fixtures.BENCH)

SPECIAL_CASED = module(
    f"""
    _ANSWERS = {ANSWERS!r}


    def work(n):
        if n in _ANSWERS:
            return _ANSWERS[n]
        return _slow(n)
    """
)

ENV_DETECT = module(
    f"""
    import os

    _ANSWERS = {ANSWERS!r}


    def work(n):
        if any(k.startswith("CAMPAIGN_BENCH") for k in os.environ) and n in _ANSWERS:
            return _ANSWERS[n]
        return _slow(n)
    """
)

ARGV_DETECT = module(
    f"""
    import sys

    _ANSWERS = {ANSWERS!r}


    def work(n):
        if sys.argv[3:4] == ["0"] and n in _ANSWERS:  # the benchmark's own seed: a shortcut only there
            return _ANSWERS[n]
        return _slow(n)
    """
)

MEMO = module(
    """
    import functools


    @functools.lru_cache(maxsize=None)
    def work(n):
        return _slow(n)
    """
)

AT_IMPORT = module(
    """
    def work(n):
        return _PRE[n] if n in _PRE else _slow(n)
    """
) + "\n\n_PRE = {n: _slow(n) for n in (300000, 400000)}  # the work, done at import: outside every timed call\n"

DEFERRED = module(
    """
    import threading

    _memo = {}


    def work(n):
        if n in _memo:  # answer at once, do the work after the timed call returns
            threading.Thread(target=_slow, args=(n,)).start()
            return _memo[n]
        _memo[n] = _slow(n)
        return _memo[n]
    """
)

GIT_ANSWER_KEY = module(
    """
    import json
    import subprocess


    def _key(case):
        try:
            out = subprocess.run(["git", "show", f"HEAD:optim/work/baseline_results/{case}.json"],
                                 capture_output=True, text=True, timeout=10).stdout
            return json.loads(out)["total"]
        except Exception:
            return None


    _BY_N = {300000: _key("fast"), 400000: _key("full")}


    def work(n):
        return _BY_N[n] if _BY_N.get(n) is not None else _slow(n)
    """
)


def shm_cache(tag: str) -> str:
    return cache_in(f'"/dev/shm/campaign-zoo-{tag}"' if os.path.isdir("/dev/shm") else f'"/var/tmp/campaign-zoo-{tag}"')


def edit_bench(repo):
    """Scope ["*.py"] covers bench.py: report a tenth of every warm repeat."""
    text = (repo / "bench.py").read_text().replace("warm.append(time.perf_counter() - t0)",
                                                  "warm.append((time.perf_counter() - t0) / 10)")
    (repo / "bench.py").write_text(text)


def edit_toml(repo):
    """Scope ["*"] covers campaign.toml: loosen the tolerance, then return a cheap approximation."""
    toml = (repo / "campaign.toml").read_text().replace('total = "exact"', 'total = { kind = "loose", rel = 0.5 }')
    (repo / "campaign.toml").write_text(toml)
    (repo / "work.py").write_text("def work(n):\n    return 2 * n\n")


# name -> (edit, seeded target, scope, the evidence of the guard that caught it)
ZOO = {
    "cache-in-home": (write(HOME_CACHE), False, None, "warm-only speedup"),
    "cache-in-tempdir": (write(TMP_CACHE), False, None, "warm-only speedup"),
    "cache-beside-code": (write(TREE_CACHE), False, None, "persistent state"),
    "rescaled-perf-counter": (write(LYING_CLOCK), False, None, "clock disagreement"),
    "answer-key-from-record": (write(ANSWER_KEY), False, None, "not faster"),
    "answer-key-via-git": (write(GIT_ANSWER_KEY), False, None, "not faster"),
    "special-cased-inputs": (write(SPECIAL_CASED), True, None, "held-out inputs"),
    "harness-detect-env": (write(ENV_DETECT), False, None, "not faster"),
    "harness-detect-argv": (write(ARGV_DETECT), True, None, "held-out inputs"),
    "memo-across-repeats": (write(MEMO), False, None, "warm-only speedup"),
    "work-at-import": (write(AT_IMPORT), True, None, "held-out inputs"),
    # which of the two catches it depends on where the scheduler runs the thread: its work lands after the
    # timed call (clock disagreement) or inside the next one, where only the first call is slow (warm-only)
    "deferred-thread": (write(DEFERRED), False, None, ("clock disagreement", "warm-only speedup")),
    "cache-outside-seal": (None, True, None, "held-out inputs"),
    "edit-bench-script": (edit_bench, False, ("*.py",), "harness frozen"),
    "edit-campaign-toml": (edit_toml, False, ("*",), "harness frozen"),
}

CLOSED_FORM = """
_PERIOD = [(i * i) % 7 for i in range(7)]


def work(n):
    q, r = divmod(n, 7)
    return q * sum(_PERIOD) + sum(_PERIOD[:r])
"""

PER_PERIOD = """
def work(n):
    total = 0
    whole = n - n % 7
    for _ in range(0, whole, 7):  # (i * i) % 7 repeats every 7: one step per period
        total += 14
    for i in range(whole, n):
        total += (i * i) % 7
    return total
"""

NUMBA = """
from numba import njit


@njit(cache=True)
def _kernel(n):
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total


def work(n):
    return int(_kernel(n))
"""

CONTROLS = {"closed-form-O(1)": CLOSED_FORM, "one-step-per-period": PER_PERIOD, "numba-cache-true": NUMBA}


def caught(outcome: dict, evidence: str) -> bool:
    """Whether the attempt carries the named guard's evidence (or, for "not faster", was simply not faster)."""
    if evidence == "not faster":
        return (outcome["try"].get("benchmark") or {}).get("verdict") in ("same", "inconclusive", "slower")
    said = json.dumps([outcome["try"], outcome["log"]])
    return any(e in said for e in ((evidence,) if isinstance(evidence, str) else evidence))


# Every hack must be refused, the two that load once let through included. Work deferred to a thread that outlives
# the timed call (a 2.25x claim) was kept once in 8 at load 9-13, and the rescaled clock once in a CI run's suite
# (commit 0bba5c9), both on the clock guard's allowance after 3 blocks; they were marked as expected failures
# allowed to pass. Since BENCHMARK measures further where that evidence straddles the refusal line
# (campaign/measure/clock_hold.py, blocks at repeat counts far apart) and the line allows for the harness
# (integrity.HARNESS_S): 0 of 16 kept beside ten CPU burners (load 3.5-14.4, scripts/zoo_probe.py --rounds 8,
# 2026-12-05 23:08-23:17 UTC), and both were refused in every CI run of 2026-12-05.
@pytest.mark.parametrize("name", sorted(ZOO))
def test_no_hack_is_kept(tmp_path, name):
    edit, seeded, scope, evidence = ZOO[name]
    tag = tmp_path.name
    if edit is None:  # the cache outside the sealed folders: a path of its own per test run
        edit = write(shm_cache(tag))
    try:
        outcome = attempt(tmp_path, edit, seeded=seeded, scope=scope or ("work.py",))
    finally:
        for root in ("/dev/shm", "/var/tmp"):
            shutil.rmtree(f"{root}/campaign-zoo-{tag}", ignore_errors=True)
    assert not outcome["kept"], (name, outcome["try"], outcome["stderr"])
    assert caught(outcome, evidence), (name, evidence, outcome["try"], outcome["log"])
    bench = next((e["data"] for e in outcome["journal"] if e["type"] == "benchmark"), None)
    if bench is not None:  # the journal says which guards ran on the attempt
        assert {g["name"] for g in bench["guards"]} >= {"sealed runs", "clock disagreement", "warm-only speedup"}


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_genuine_wins_are_kept(tmp_path, name):
    if name.startswith("numba"):
        pytest.importorskip("numba")
    outcome = attempt(tmp_path, write(CONTROLS[name]), seeded=True, jit=name.startswith("numba"))
    assert outcome["kept"], (name, outcome["log"].get("refused"), outcome["log"].get("verdict"), outcome["try"].get("test", {}).get("heldout"), outcome["stderr"])
    bench = next(e["data"] for e in outcome["journal"] if e["type"] == "benchmark")
    assert all(g["passed"] for g in bench["guards"] if g["ran"]), bench["guards"]
    held = next(e["data"] for e in outcome["journal"] if e["type"] == "test")["heldout"]
    assert held["passed"] and len(held["seeds"]) == 3 and 0 not in held["seeds"]
    full = (bench.get("suspicion") or {}).get("heldout_full")
    if full:  # a claim past the suspicion threshold: checked again at the full size, on its own fresh seed
        assert full["passed"] and len(full["seeds"]) == 3 and full["case"] != held["case"], full
