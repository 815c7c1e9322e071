"""An installation without bytecode, under PYTHONDONTWRITEBYTECODE, is compiled again by every measured process.

Found installing campaign the way a user does (`uv tool install`, which compiles nothing unless asked) on a
machine whose environment sets PYTHONDONTWRITEBYTECODE: beside six burners `campaign demo` took 623 s against
395-471 s from a pip install, every phase slower, since each fresh worker compiled NumPy and Numba from
source. campaign says so, once, with the remedies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import cache_from_source
from pathlib import Path

from campaign.measure import bench, environment
from campaign.measure.environment import bytecode_note


def _module(root: Path) -> str:
    pkg = root / "numpy"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("VALUE = 1\n")
    return str(pkg / "__init__.py")


def test_no_note_where_bytecode_is_written_or_already_there(tmp_path):
    origin = _module(tmp_path)
    assert bytecode_note(False, [origin]) is None  # the first process writes it, the next ones read it
    assert bytecode_note(True, [None, "built-in", str(tmp_path / "ext.so")]) is None  # nothing compiled from .py
    Path(cache_from_source(origin)).parent.mkdir()
    Path(cache_from_source(origin)).write_bytes(b"")
    assert bytecode_note(True, [origin]) is None


def test_the_note_names_the_uncompiled_module_and_the_remedies(tmp_path):
    origin = _module(tmp_path)
    note = bytecode_note(True, [origin])
    assert note is not None and origin in note
    assert "--compile-bytecode" in note and "compileall" in note and "unset PYTHONDONTWRITEBYTECODE" in note


def test_the_installation_is_probed_as_its_processes_import_it_and_compileall_ends_the_note(tmp_path):
    origin = _module(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.getcwd()]),
           "PYTHONDONTWRITEBYTECODE": "1"}
    probe = ("import json; from campaign.measure.environment import installation_bytecode_note as n; "
             "print(json.dumps(n()))")

    def note():
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    assert origin in note()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tmp_path / "site")], env=env, check=True)
    assert note() is None


def test_a_benchmark_says_it_once_per_process(monkeypatch):
    monkeypatch.setattr(bench, "_BYTECODE_SAID", [])
    monkeypatch.setattr(environment, "installation_bytecode_note", lambda: "numpy has no compiled bytecode")
    lines: list[str] = []
    bench._say_bytecode_once(lines.append)
    bench._say_bytecode_once(lines.append)
    assert lines == ["warning: numpy has no compiled bytecode"]
    monkeypatch.setattr(environment, "installation_bytecode_note", lambda: None)
    bench._say_bytecode_once(lines.append)
    assert len(lines) == 1
