"""Self-check of a workspace kernel against the naive oracle (the target's test command).

    python -m targets.weight_search.check [WORKSPACE]

Imports WORKSPACE/kernel.py and compares W (bit for bit), cycles and convergence
with targets/weight_search/naive.py on 300 seeded random small integer problems.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ws = Path(argv[0] if argv else ".").resolve()
    from targets.weight_search import naive

    import os

    # loaded exactly as the campaign worker loads it (module "kernel", JIT cache on), so the
    # self-check and the benchmark processes share one compiled cache in the workspace
    os.environ["CAMPAIGN_JIT_CACHE"] = "1"
    spec = importlib.util.spec_from_file_location("kernel", ws / "kernel.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["kernel"] = mod
    spec.loader.exec_module(mod)
    rng = random.Random(12345)
    bad = 0
    for _ in range(300):
        n = rng.randint(1, 9)
        c = [float(rng.randint(-30, 30)) for _ in range(n)]
        if not any(c):
            c[0] = 1.0
        kw = dict(tolerance=float(rng.choice([0, 0, 1, 3])), max_iter=rng.choice([1, 4, 32]),
                  early_stopping=rng.random() < 0.8)
        t = float(rng.randint(-100, 100))
        a, b = naive.search(c, t, **kw), mod.search(c, t, **kw)
        if list(a.W) != list(b.W) or a.cycles != b.cycles or a.converged != b.converged:
            bad += 1
            if bad <= 3:
                print(f"MISMATCH c={c} target={t} {kw}: naive W={a.W} kernel W={list(b.W)}")
    print(f"{300 - bad}/300 problems identical to the naive oracle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
