"""A small recorded campaign whose code really runs, for ``campaign finalize`` tests.

``work.py`` computes two sums, ``alpha`` and ``beta``, in two phases, far
apart in the file. The record keeps three changes: iteration 1 gives alpha a
closed form, iteration 2 gives beta one (other lines: independent of 1),
iteration 3 rewrites alpha's closed form (the lines iteration 1 wrote: it only
applies together with 1). Iteration 4 is reverted. The target module lives
outside the record (``<tmp>/lib/fintarget.py``); the baseline (outputs,
snapshot) is recorded with the real ``record_baseline``.
"""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from pathlib import Path

from records import RecordBuilder

BASE = textwrap.dedent('''
    from campaign.plugins.phases import phase

    N = 120_000


    def alpha(n):
        total = 0
        for i in range(n):
            total += (i * i) % 7
        return total


    def middle():
        """Lines no change touches: they keep alpha's and beta's hunks apart."""
        return "unchanged"


    def spacer():
        return "also unchanged"


    def beta(n):
        total = 0
        for i in range(n):
            total += (i * 3) % 5
        return total


    def compute(n=N):
        with phase("alpha"):
            a = alpha(n)
        with phase("beta"):
            b = beta(n)
        return {"a": a, "b": b}
''').lstrip()

ALPHA_1 = '''    full, rest = divmod(n, 7)
    pattern = [(i * i) % 7 for i in range(7)]
    return full * sum(pattern) + sum(pattern[:rest])
'''
ALPHA_3 = '''    full, rest = divmod(n, 7)
    return full * 14 + sum((0, 1, 4, 2, 2, 4, 1)[:rest])
'''
BETA_OLD = '''    total = 0
    for i in range(n):
        total += (i * 3) % 5
    return total
'''
BETA_2 = '''    full, rest = divmod(n, 5)
    return full * 10 + sum((0, 3, 1, 4, 2)[:rest])
'''
ALPHA_BODY = '''    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total
'''

V1 = BASE.replace(ALPHA_BODY, ALPHA_1)
V2 = V1.replace(BETA_OLD, BETA_2)
V3 = V2.replace(ALPHA_1, ALPHA_3)
V4_REVERTED = V3.replace('return "unchanged"', 'return "changed"')
FINAL = V3

TARGET = textwrap.dedent('''
    """Two sums in two phases (tests/finalize_fixtures.py writes this file)."""

    import importlib.util
    import sys
    from pathlib import Path

    from campaign.plugins.target import PythonTarget


    class FinTarget(PythonTarget):
        name = "fin"
        description = "two sums (finalize tests)"
        scope = ["work.py"]
        fast_case = "fast"
        full_case = "fast"
        phases = ["alpha", "beta"]
        timeout_s = 60.0

        def run_case(self, case, workdir, knobs=None):
            path = (Path(workdir) / "work.py").resolve()
            sys.modules.pop("work", None)
            spec = importlib.util.spec_from_file_location("work", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.compute()
''').lstrip()

SPEC = "fintarget:FinTarget"


def write_target(lib: Path) -> Path:
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "fintarget.py").write_text(TARGET)
    return lib


def build_record(root: Path, lib: Path) -> Path:
    """Write the record under ``root/fin``; ``lib`` must be importable (sys.path and PYTHONPATH)."""
    assert BASE != V1 != V2 != V3 and ALPHA_BODY in BASE and BETA_OLD in BASE
    b = RecordBuilder({"work.py": BASE})
    b.add("init", None, name="fin", target_spec=SPEC,
          target={"name": "fin", "scope": ["work.py"], "phases": ["alpha", "beta"]},
          goal_speedup=100.0, max_iterations=15, min_gain=0.05, postmortem_factor=1.5, start_branch="main",
          branch="optimization/fin", pre_tag="fin/pre-optimization", base_commit="0" * 40, workspace="/nowhere")
    b.add("baseline", None, commit=None, dirty=None, case="fast", outputs={}, phases={"alpha": 0.5, "beta": 0.5},
          warm_s=1.0, first_call_s=None, compile_s=None, environment={}, snapshot="baseline_snapshot.tar.gz")
    b.iteration(1, phase="alpha", predicted=1.8, measured=1.9, ci=(1.7, 2.1), cumulative=1.9, kept=True,
                files={"work.py": V1}, share=0.5)
    b.iteration(2, phase="beta", predicted=5.0, measured=20.0, ci=(15.0, 25.0), cumulative=38.0, kept=True,
                files={"work.py": V2}, share=0.5)
    b.iteration(3, phase="alpha", predicted=1.1, measured=1.2, ci=(1.05, 1.3), cumulative=45.6, kept=True,
                files={"work.py": V3}, share=0.3)
    b.iteration(4, phase="alpha", predicted=1.1, measured=0.99, ci=(0.95, 1.03), cumulative=45.6, kept=False,
                files={"work.py": V4_REVERTED}, share=0.3)
    for e in b.events:
        if e["type"] == "implement":
            e["data"]["patch_sha256"] = hashlib.sha256(b.patches[Path(e["data"]["patch"]).name].encode()).hexdigest()
        if e["type"] == "test":
            e["data"]["cases"] = ["fast"]
    record = b.write(root / "fin")
    (record / "baseline.json").unlink()
    shutil.rmtree(record / "baseline_snapshot")
    from campaign.measure.baseline import record_baseline
    from campaign.plugins.loading import load_target

    ws = root / "baseline-ws"
    ws.mkdir()
    (ws / "work.py").write_text(BASE)
    record_baseline(load_target(SPEC, ws), ws, record, ["fast"], repeat=1)
    return record
