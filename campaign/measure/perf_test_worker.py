"""Runs a GSO-style performance test script as a workload (the ``perf-test`` target kind).

    python -m campaign.measure.perf_test_worker SCRIPT CASE [--repeat N] [--seed S]

The script defines ``experiment()`` (the timed workload; it receives
``setup()``'s value when it takes an argument and ``setup`` exists) and
optionally its own equivalence check: ``check_equivalence(reference,
current)`` (raises or returns False when they differ), with
``store_result(result, filename)`` / ``load_result(filename)`` to persist a
result (pickle otherwise). The first run stores the reference result (the
baseline's, at ``campaign init``) under the repository's git directory,
shared by every worktree; every later run checks its result against it with
the script's check and reports ``{"equivalent": bool, "equivalence_error": str}``
as outputs, so TEST fails exactly when the script's check does. A script
with no check reports its result itself (``{"result": ...}``, compared with
the target's tolerances). The case is exported as ``CAMPAIGN_CASE``.

``--seed S`` (S not 0): a held-out run (campaign.measure.heldout). ``setup(seed=S)``
makes the input, and the result is reported itself (``{"result": ...}``, or
``{"result_sha256": ...}`` when its JSON is large), since no reference is stored
for a fresh seed: campaign compares it with the baseline's on the same seed.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import pickle
import runpy
import subprocess
import sys
from resource import RUSAGE_SELF, getrusage
from time import perf_counter as _perf_counter, process_time as _process_time  # bound before the user's code loads
from pathlib import Path

from campaign.plugins.perf_test_target import reference_root  # noqa: F401  (the worker's half of the contract)


def reference_dir(script: Path, case: str, base: Path | None = None) -> Path:
    """Where the reference result lives: ``base`` (``--reference-dir``: the repository's, given by campaign
    when the run folder is a copy without ``.git``), else the git common dir (shared by worktrees), else
    beside the script."""
    if base is not None:
        digest = hashlib.sha256(script.name.encode()).hexdigest()[:8]
        return Path(base) / f"{script.stem}-{digest}" / case
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=script.parent,
                                capture_output=True, text=True, check=True).stdout.strip()
        base = Path(common) / "campaign-perf-test"
    except (OSError, subprocess.CalledProcessError):
        base = script.parent / ".campaign-perf-test"
    digest = hashlib.sha256(script.name.encode()).hexdigest()[:8]
    return base / f"{script.stem}-{digest}" / case


def _store(module: dict, result, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if "store_result" in module:
        module["store_result"](result, str(path))
    else:
        path.write_bytes(pickle.dumps(result))


def _load(module: dict, path: Path):
    return module["load_result"](str(path)) if "load_result" in module else pickle.loads(path.read_bytes())


def equivalence(module: dict, result, ref_dir: Path) -> dict:
    """The outputs: the script's own check against the stored reference (stored first when absent)."""
    ref_file = ref_dir / "reference"
    if not ref_file.exists():
        _store(module, result, ref_file)
        return {"equivalent": True, "equivalence_error": ""}
    try:
        reference = _load(module, ref_file)
        if "check_equivalence" in module:
            verdict = module["check_equivalence"](reference, result)
        else:  # store/load only: compare what was stored with what this result stores as
            current = ref_dir / f"current-{os.getpid()}"
            _store(module, result, current)
            try:
                verdict = reference == _load(module, current)
            finally:
                current.unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - the script's check failing IS the verdict
        return {"equivalent": False, "equivalence_error": f"{type(exc).__name__}: {exc}"[:300]}
    if verdict is False:
        return {"equivalent": False, "equivalence_error": "check_equivalence returned False"}
    return {"equivalent": True, "equivalence_error": ""}


def _jsonable(value):
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


HELDOUT_JSON_MAX = 100_000  # characters of a held-out result's JSON above which only its digest is reported


def heldout_outputs(result) -> dict:
    """A held-out run's outputs: the result by value (arrays as lists), or its digest when large."""
    value = _jsonable(result.tolist() if hasattr(result, "tolist") else result)
    text = json.dumps(value, sort_keys=True)
    if len(text) <= HELDOUT_JSON_MAX:
        return {"result": value}
    return {"result_sha256": hashlib.sha256(text.encode()).hexdigest()}


def run(script: Path, case: str, repeat: int, reference_base: Path | None = None, seed: int = 0) -> dict:
    os.environ["CAMPAIGN_CASE"] = case
    sys.path.insert(0, str(script.parent))
    module = runpy.run_path(str(script), run_name="campaign_perf_test")
    experiment = module.get("experiment")
    if not callable(experiment):
        raise ValueError(f"{script} defines no experiment() function (the timed workload)")
    wants_data = "setup" in module and len(inspect.signature(experiment).parameters) > 0
    data = (module["setup"](seed=seed) if seed else module["setup"]()) if "setup" in module else None
    call = (lambda: experiment(data)) if wants_data else experiment
    c0, t0 = _process_time(), _perf_counter()
    result = call()
    first, first_cpu = _perf_counter() - t0, _process_time() - c0
    warm, warm_cpu, waits = [], [], []
    for _ in range(max(1, repeat)):
        v0 = getrusage(RUSAGE_SELF).ru_nvcsw
        c0, t0 = _process_time(), _perf_counter()
        result = call()
        warm.append(_perf_counter() - t0)
        warm_cpu.append(_process_time() - c0)
        waits.append(getrusage(RUSAGE_SELF).ru_nvcsw - v0)
    checks = ("check_equivalence" in module) or ("store_result" in module and "load_result" in module)
    if seed:
        outputs = heldout_outputs(result)
    else:
        outputs = equivalence(module, result, reference_dir(script, case, reference_base)) if checks else \
            {"result": _jsonable(result)}
    return {"outputs": outputs, "phases": {"experiment": min(warm)}, "warm_s": warm, "warm_cpu_s": warm_cpu, "warm_waits": waits,
            "first_call_s": first, "first_call_cpu_s": first_cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m campaign.measure.perf_test_worker")
    parser.add_argument("script")
    parser.add_argument("case")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--reference-dir", default=None)
    parser.add_argument("--seed", type=int, default=0, help="held-out inputs: setup(seed=SEED) (0: setup())")
    opts = parser.parse_args(argv)
    try:
        data = run(Path(opts.script).resolve(), opts.case, opts.repeat,
                   Path(opts.reference_dir) if opts.reference_dir else None, opts.seed)
    except Exception as exc:  # reported to the parent as data
        import traceback

        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
