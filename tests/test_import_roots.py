"""Every measured process imports the tree it measures (issue 21 items 1 and 2).

An editable install of a src layout points every checkout at the main tree's
``src/``: before, a worktree of another commit ran the main tree's code and
every comparison measured ~1.00x. Now the tree's import roots come first,
and a process that still imports the scope's code from elsewhere is refused.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from campaign.measure.import_check import ImportTreeError, process_env
from campaign.measure.workload import run_workload
from campaign.plugins.project_env import (HOW_DECLARED, HOW_DOT_VENV, HOW_OWN, HOW_VIRTUAL_ENV, import_roots,
                                          resolve_project_env, scope_modules)
from campaign.plugins.toml_target import load_toml_target
from loop_fixtures import git
from real_projects import LAYOUTS, make_project


def _layout(name):
    return next(layout for layout in LAYOUTS if layout.name == name)


def test_import_roots_of_the_layouts(tmp_path):
    src = tmp_path / "src-layout"
    (src / "src" / "pkg").mkdir(parents=True)
    (src / "src" / "pkg" / "__init__.py").write_text("")
    assert import_roots(src) == [(src / "src").resolve(), src.resolve()]
    assert scope_modules(src, ["src/pkg/**/*.py"]) == ["pkg"]

    hatch = tmp_path / "hatch"
    (hatch / "lib" / "pkg").mkdir(parents=True)
    (hatch / "lib" / "pkg" / "__init__.py").write_text("")
    (hatch / "pyproject.toml").write_text('[tool.hatch.build.targets.wheel]\npackages = ["lib/pkg"]\n')
    assert import_roots(hatch)[0] == (hatch / "lib").resolve()

    flat = tmp_path / "flat"
    (flat / "pkg").mkdir(parents=True)
    (flat / "pkg" / "__init__.py").write_text("")
    (flat / "mod.py").write_text("")
    assert import_roots(flat) == [flat.resolve()]
    assert scope_modules(flat, ["pkg/*.py", "mod.py", "setup.py"]) == ["mod", "pkg"]


def test_the_project_interpreter_rule(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    assert resolve_project_env(root, environ={}).how == HOW_OWN
    active = tmp_path / "active"
    (active / "bin").mkdir(parents=True)
    (active / "bin" / "python").symlink_to(sys.executable)
    assert resolve_project_env(root, environ={"VIRTUAL_ENV": str(active)}).how == HOW_VIRTUAL_ENV
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    found = resolve_project_env(root, environ={"VIRTUAL_ENV": str(active)})
    assert found.how == HOW_DOT_VENV and found.python == str(root / ".venv" / "bin" / "python")
    declared = resolve_project_env(root, str(active), environ={})
    assert declared.how == HOW_DECLARED and declared.python == str(active / "bin" / "python")


def _worktree(repo: Path, tmp_path: Path, core_rel: str, code: str) -> Path:
    (repo / core_rel).write_text(code)
    git(repo, "commit", "-qam", "another version")
    tree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "--detach", str(tree), "HEAD")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    return tree


@pytest.mark.parametrize("name", ["st-src", "hatch-src"])
def test_a_worktree_of_an_editable_src_layout_runs_its_own_code(tmp_path, name):
    layout = _layout(name)
    repo, python = make_project(tmp_path / name, layout)
    target = load_toml_target(repo / "campaign.toml")
    assert target.python == str(python)  # the project's .venv, not campaign's interpreter
    tree = _worktree(repo, tmp_path, f"{layout.package_dir}/core.py", "def work(n):\n    return -1\n")
    assert run_workload(target, "fast", repo).outputs["value"] != -1
    run = run_workload(target, "fast", tree)
    assert run.outputs == {"value": -1, "dep": "project-only"}  # the worktree's code, the project's venv
    env = process_env(target, tree)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str((tree / "src").resolve())
    assert env["PATH"].split(os.pathsep)[0] == str(python.parent)


def test_a_process_that_imports_another_trees_code_is_refused(tmp_path):
    layout = _layout("st-src")
    repo, _ = make_project(tmp_path / "proj", layout)
    bench = (repo / "bench.py").read_text()
    (repo / "bench.py").write_text(f"import sys; sys.path.insert(0, {str(repo / 'src')!r})\n" + bench)
    git(repo, "commit", "-qam", "a workload that sends imports to the main tree")
    target = load_toml_target(repo / "campaign.toml")
    tree = _worktree(repo, tmp_path, f"{layout.package_dir}/core.py", "def work(n):\n    return -1\n")
    run_workload(target, "fast", repo)  # the main tree measuring itself is fine
    with pytest.raises(ImportTreeError) as refused:
        run_workload(target, "fast", tree)
    message = str(refused.value)
    assert f"'{layout.pkg}" in message and str(repo / "src") in message and "none is reported" in message


def test_the_pytest_benchmark_kind_and_the_test_command_run_the_worktrees_code(tmp_path):
    """The same for a pytest-benchmark suite and for the project's own tests (pytest run in a worktree)."""
    from campaign.measure.correctness import run_test_command

    layout = _layout("st-src")
    repo, _ = make_project(tmp_path / "proj", layout)
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "test_bench.py").write_text(
        f"from {layout.pkg}.core import work\n\n\ndef test_work(benchmark):\n    return benchmark(work, 1000)\n")
    (repo / "campaign.toml").write_text(
        f'[target]\nname = "b"\nkind = "pytest-benchmark"\npath = "benchmarks/"\nscope = ["{layout.package_dir}/**/*.py"]\n'
        'test = "python -m pytest -q -p no:cacheprovider tests"\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a pytest-benchmark suite")
    target = load_toml_target(repo / "campaign.toml")
    tree = _worktree(repo, tmp_path, f"{layout.package_dir}/core.py", "def work(n):\n    return -1\n")
    assert run_workload(target, "fast", repo).outputs["test_work"] != -1
    assert run_workload(target, "fast", tree).outputs["test_work"] == -1
    assert run_test_command(target.test_command, repo, 120, target=target)["passed"]
    failed = run_test_command(target.test_command, tree, 120, target=target)  # the worktree's work() is wrong
    assert not failed["passed"] and failed["failed_tests"], failed
