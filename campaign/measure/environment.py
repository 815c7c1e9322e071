"""What the machine looked like when a number was measured.

Every baseline and benchmark carries ``collect_environment()``, so that a
timing can be judged later: which Python, which numpy/numba, which CPU, how
many cores, which frequency governor, how busy the machine was.
``environment_differences`` says, in plain lines, what differs between two
such records that may explain a timing difference. Cheap on purpose: no
import of numpy or numba (versions come from package metadata).
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import sys
from pathlib import Path

PACKAGES = ("numpy", "numba", "llvmlite", "scipy", "campaign")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


BYTECODE_PROBES = ("numpy",)  # a dependency whose compiled bytecode tells whether campaign's installation has any


def bytecode_note(dont_write_bytecode: bool, origins: list[str | None]) -> str | None:
    """Why every measured Python process would compile its imports from source, or None.

    With ``PYTHONDONTWRITEBYTECODE`` set no process writes bytecode, so an installation that was not compiled
    when installed (``uv tool install`` compiles nothing unless ``--compile-bytecode``; pip compiles) is
    compiled again by every process that imports it: beside six CPU burners ``campaign demo`` installed so took
    623 s against 395-471 s from a pip install (a Numba import from source costs 1.5-3 s a process). ``origins``: the
    source files of ``BYTECODE_PROBES`` (None: not installed)."""
    if not dont_write_bytecode:
        return None
    from importlib.util import cache_from_source

    missing = [o for o in origins if o and o.endswith(".py") and not Path(cache_from_source(o)).exists()]
    if not missing:
        return None
    return (f"PYTHONDONTWRITEBYTECODE is set and {missing[0]} has no compiled bytecode: every measured Python "
            "process compiles its imports from source (seconds a process for NumPy and Numba). Install campaign "
            "with `uv tool install --compile-bytecode campaign`, compile the installation once (`python -m "
            "compileall -q` on its site-packages), or unset PYTHONDONTWRITEBYTECODE")


def installation_bytecode_note() -> str | None:
    """``bytecode_note`` for campaign's own installation: the interpreter that runs the workers of built-in
    targets and of projects without an environment of their own. A project's own venv is not probed (its
    interpreter would have to be started to ask); the note's remedy applies to it alike."""
    from importlib.util import find_spec

    origins = []
    for name in BYTECODE_PROBES:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origins.append(spec.origin if spec else None)
    return bytecode_note(bool(sys.flags.dont_write_bytecode), origins)


def _package_versions() -> dict[str, str | None]:
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def collect_environment() -> dict:
    """A plain-JSON snapshot of the interpreter, libraries, CPU and load."""
    affinity: int | None
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    freq = None
    try:
        import psutil

        f = psutil.cpu_freq()
        freq = round(f.current, 0) if f else None
    except Exception:  # noqa: BLE001 - optional information
        freq = None
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "packages": _package_versions(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "no_turbo": _read("/sys/devices/system/cpu/intel_pstate/no_turbo"),
        "cpu_freq_mhz": freq,
        "load_avg": load,
        "hostname_hash": hostname_hash(),
    }


def hostname_hash() -> str:
    """This machine, as a measurement's environment names it (the hostname's digest, not the name)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def _busy(env: dict) -> float | None:
    load, cores = env.get("load_avg"), env.get("cpu_affinity") or env.get("cpu_count")
    if not load or not cores:
        return None
    return load[0] / cores


def environment_differences(a: dict, b: dict) -> list[str]:
    """Human lines naming what differs between two environments that may explain a timing difference."""
    a, b = a or {}, b or {}
    lines = []
    if a.get("hostname_hash") and b.get("hostname_hash") and a["hostname_hash"] != b["hostname_hash"]:
        lines.append("measured on a different machine (hostname differs)")
    labels = {
        "cpu_model": "CPU model",
        "cpu_count": "CPU count",
        "cpu_affinity": "usable cores",
        "governor": "CPU frequency governor",
        "no_turbo": "turbo setting (intel_pstate/no_turbo)",
        "python": "Python version",
        "python_implementation": "Python implementation",
        "platform": "OS/platform",
    }
    for key, label in labels.items():
        if key in a and key in b and a[key] != b[key]:
            lines.append(f"{label}: {a[key]} vs {b[key]}")
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    for name in sorted(set(pa) | set(pb)):
        if name == "campaign":
            continue
        if pa.get(name) != pb.get(name):
            lines.append(f"{name} version: {pa.get(name)} vs {pb.get(name)}")
    ba, bb = _busy(a), _busy(b)
    if ba is not None and bb is not None and (max(ba, bb) > 0.5 and abs(ba - bb) > 0.25):
        lines.append(
            f"machine load differs: 1-min load per core {ba:.2f} vs {bb:.2f} (a busy machine inflates and blurs timings)"
        )
    return lines
