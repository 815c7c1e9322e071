"""A clean record: merged by FINISH, it changes nothing about how the user's project builds or imports.

A flat-layout setuptools project (a package folder, a pyproject.toml that
names no packages) builds its wheel after ``campaign finish``: the record goes
under ``optim-records/`` (a top-level ``optim/`` would be discovered as a second
package) and the baseline snapshot is one archive, not a loose importable tree.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from campaign.loop.record_place import INERT_RECORD_ROOT, RECORD_ROOT, choose_record_root, discovers_top_level_dirs
from loop_fixtures import campaign, finished_record, git

PYPROJECT = textwrap.dedent("""
    [build-system]
    requires = ["setuptools"]
    build-backend = "setuptools.build_meta"

    [project]
    name = "flatlib"
    version = "0.1"
""").lstrip()

LIB = textwrap.dedent("""
    def total(n):
        out = 0
        for i in range(n):
            out += i
        return out
""").lstrip()

BENCH = textwrap.dedent("""
    import json, sys, time
    import flatlib
    n = {"fast": 20000, "full": 30000}[sys.argv[1]]
    t0 = time.perf_counter()
    value = flatlib.total(n)
    dt = time.perf_counter() - t0
    print(json.dumps({"outputs": {"total": value}, "phases": {"sum": dt}, "warm_s": [dt], "first_call_s": dt}))
""").lstrip()

TOML = textwrap.dedent("""
    [target]
    name = "flat"
    scope = ["flatlib/*.py"]
    run = "{python} bench.py {{case}}"
    fast_case = "fast"
    full_case = "full"
    phases = ["sum"]

    [tolerances]
    total = "exact"
""").lstrip()


def flat_project(root: Path) -> Path:
    (root / "flatlib").mkdir(parents=True)
    (root / "flatlib" / "__init__.py").write_text(LIB)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "bench.py").write_text(BENCH)
    (root / "campaign.toml").write_text(TOML.format(python=sys.executable))
    (root / ".gitignore").write_text("__pycache__/\nbuild/\n*.egg-info/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a flat-layout library")
    return root


def can_build_wheels() -> bool:
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    if tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (70, 1):
        return True  # bdist_wheel is part of setuptools
    return importlib.util.find_spec("wheel") is not None  # the `test` extra installs it


def ok(result) -> dict:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def test_flat_layout_project_builds_its_wheel_after_finish(tmp_path):
    assert can_build_wheels(), "no setuptools, or setuptools < 70.1 without `wheel`: pip install -e '.[test]' installs both"
    repo = flat_project(tmp_path / "flat")
    ok(campaign(repo, "init", "--target", "campaign.toml", "--json"))
    ok(campaign(repo, "decide", "--stop", "--why", "only checking the record stays out of the build", "--json"))
    finished = ok(campaign(repo, "finish", "--json"))
    assert finished["validation"]["passed"] is True
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"

    for branch in ("optimization/flat", "main"):  # the campaign branch holds the record: it must build too
        git(repo, "checkout", "-q", branch)
        wheels = tmp_path / "wheels" / branch
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-w",
                                str(wheels)], cwd=repo, capture_output=True, text=True, timeout=300)
        assert built.returncode == 0, built.stdout + built.stderr
        (wheel_file,) = wheels.glob("flatlib-0.1-*.whl")
        tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel_file).namelist()}
        assert tops == {"flatlib", "flatlib-0.1.dist-info"}
        git(repo, "clean", "-fdxq")

    # where the record went, and what it holds
    assert not (repo / INERT_RECORD_ROOT).exists() and not (repo / RECORD_ROOT).exists()  # main: the code only
    assert (finished_record(repo, "flat") / "journal.jsonl").is_file()  # the record stays in git
    kept = git(repo, "ls-tree", "-r", "--name-only", "refs/campaign/flat/record").splitlines()
    record_files = [f for f in kept if f.startswith(INERT_RECORD_ROOT + "/")]
    assert f"{INERT_RECORD_ROOT}/flat/baseline_snapshot.tar.gz" in record_files
    assert not [f for f in record_files if f.endswith(".py")]  # nothing importable, nothing a test runner collects
    told = git(repo, "show", "optimization/flat~1:AGENTS.md")  # finish took AGENTS.md off: the campaign is over
    assert f"`{INERT_RECORD_ROOT}/flat/`" in told and not (repo / "AGENTS.md").exists()  # the agent was told where


@pytest.mark.parametrize("files,src,expected", [
    ({"pyproject": PYPROJECT}, False, True),
    ({"pyproject": PYPROJECT}, True, False),  # src-layout
    ({"pyproject": PYPROJECT + "\n[tool.setuptools]\npackages = ['flatlib']\n"}, False, False),
    ({"pyproject": PYPROJECT + "\n[tool.setuptools.packages.find]\ninclude = ['flatlib*']\n"}, False, False),
    ({"pyproject": PYPROJECT.replace("setuptools.build_meta", "hatchling.build")}, False, False),
    ({"setup_py": "from setuptools import setup\nsetup(name='x')\n"}, False, True),
    ({"setup_py": "from setuptools import setup, find_packages\nsetup(name='x', packages=find_packages())\n"}, False, False),
    ({"setup_cfg": "[metadata]\nname = x\n[options]\npy_modules = x\n", "setup_py": "import setuptools; setuptools.setup()\n"}, False, False),
    ({}, False, False),  # not a Python project: the record stays in optim/
])
def test_which_projects_would_package_a_top_level_folder(files, src, expected):
    assert discovers_top_level_dirs(files.get("pyproject"), files.get("setup_cfg"), files.get("setup_py"), src) is expected


def test_other_projects_keep_optim(tmp_path):
    assert choose_record_root(tmp_path) == RECORD_ROOT
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup(name='x')\n")
    assert choose_record_root(tmp_path) == INERT_RECORD_ROOT
