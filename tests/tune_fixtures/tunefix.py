"""Tiny targets for the knob tuner's tests (copied into a temporary workspace).

* ``SleepMap``: items sleep ~5 ms each, mapped by a thread pool of ``workers``:
  more workers must win.
* ``TinyMap``: items cost microseconds, mapped by a process pool of
  ``workers``: the pool's start-up dominates, serial must win.
* ``Moody``: a ``mode`` knob whose values crash or hang (a hang leaves a
  grandchild process whose pid is written to ``hang_child.pid``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from campaign.plugins.phases import phase
from campaign.plugins.target import PythonTarget


def _sleep_item(x):
    time.sleep(0.005)
    return x * x


def _tiny_item(x):
    return x + 1


class SleepMap(PythonTarget):
    name = "sleepmap"
    scope = ["tunefix.py"]
    knobs = {"workers": [1, 2, 8], "subsample": [0.5, 1.0]}
    parallel_executor = "thread"
    timeout_s = 60.0

    def items(self, case, knobs):
        n = 48 if case == "fast" else 96
        sub = float((knobs or {}).get("subsample", 1.0))
        return list(range(max(1, int(n * sub))))

    def parallel_map(self, case, workdir, knobs):
        return _sleep_item, self.items(case, knobs)

    def run_case(self, case, workdir, knobs=None):
        knobs = knobs or {}
        workers = int(knobs.get("workers", 1))
        items = self.items(case, knobs)
        with phase("map"):
            if workers <= 1:
                out = [_sleep_item(x) for x in items]
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(workers) as pool:
                    out = list(pool.map(_sleep_item, items))
        return {"total": sum(out), "n": len(out)}


class TinyMap(PythonTarget):
    name = "tinymap"
    scope = ["tunefix.py"]
    knobs = {"workers": [1, 2], "chunksize": [1, 64]}
    parallel_executor = "process"
    timeout_s = 60.0

    def parallel_map(self, case, workdir, knobs):
        return _tiny_item, list(range(200))

    def run_case(self, case, workdir, knobs=None):
        knobs = knobs or {}
        workers = int(knobs.get("workers", 1))
        chunk = int(knobs.get("chunksize", 1))
        items = list(range(200))
        with phase("map"):
            if workers <= 1:
                out = [_tiny_item(x) for x in items]
            else:
                import multiprocessing

                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    out = pool.map(_tiny_item, items, chunksize=chunk)
        return {"total": sum(out)}


class Moody(PythonTarget):
    name = "moody"
    scope = ["tunefix.py"]
    knobs = {"mode": ["ok", "crash", "hang", "fast"]}
    timeout_s = 60.0

    def run_case(self, case, workdir, knobs=None):
        mode = (knobs or {}).get("mode", "ok")
        if mode == "crash":
            raise RuntimeError("this configuration crashes on purpose")
        if mode == "hang":
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            with open(os.path.join(str(workdir), "hang_child.pid"), "w") as fh:
                fh.write(str(child.pid))
            time.sleep(120)
        time.sleep(0.02 if mode == "ok" else 0.002)
        return {"value": 1}
