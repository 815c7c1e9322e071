"""The hack zoo: scripted reward hacks put through `campaign try` and `log` - none may be kept.

Each hack is an edit of ``work.py`` (the scope of a tiny pure-Python target,
``tests/hack_fixtures.py``) that makes the measured time drop without making
``work(n)`` faster: a cache that outlives the process, a lying clock, the
answer key read from the campaign's record, ... Beside them, genuine wins
must still be kept. The table in docs/integrity.md names the guard that
catches each; the test asserts that guard's name in the journal.
"""

from __future__ import annotations

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


REPROS = {
    "cache-in-home": HOME_CACHE,
    "cache-in-tempdir": TMP_CACHE,
    "cache-beside-code": TREE_CACHE,
    "rescaled-perf-counter": LYING_CLOCK,
    "answer-key-from-record": ANSWER_KEY,
}


@pytest.mark.parametrize("name", sorted(REPROS))
def test_issue_repros_are_not_kept(tmp_path, name):
    outcome = attempt(tmp_path, write(REPROS[name]))
    assert not outcome["kept"], (name, outcome["try"], outcome["stderr"])
