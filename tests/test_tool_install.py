"""campaign installed as a tool (`uv tool install campaign`, `pipx install campaign`), then a campaign on a project
with its own venv and dependencies: no flag, no PYTHONPATH, no activated venv (issue 21, "Done when").

The tool is a venv of its own that holds campaign (``test_own_interpreter.make_venv``: this checkout, and the
libraries campaign needs) and is called by its console script's absolute path; the first ``python`` on PATH
is a fake that exits 1. The project (``real_projects``: a src layout installed editable into its ``.venv``)
imports ``projdep``, which only its ``.venv`` has: init's check of the test command, TEST and BENCHMARK pass
only when they run under the project's interpreter, found with no flag.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from loop_fixtures import cli_env
from real_projects import FAST, LAYOUTS, make_project
from test_own_interpreter import make_venv


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    return make_venv(tmp_path_factory.mktemp("uv-tools") / "campaign")


def test_a_tool_installed_campaign_runs_the_project_in_its_own_venv(tool, tmp_path):
    layout = next(x for x in LAYOUTS if x.name == "st-src")
    repo, python = make_project(tmp_path / layout.name, layout)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    for name in ("python", "python3"):
        (fake / name).write_text("#!/bin/sh\necho 'fake python: wrong interpreter' >&2\nexit 1\n")
        (fake / name).chmod(0o755)
    env = cli_env(CAMPAIGN_BENCH_MAX_BLOCKS="2", CAMPAIGN_BENCH_MIN_BLOCKS="2")
    for key in ("PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(key, None)
    env["PATH"] = os.pathsep.join([str(fake), "/usr/bin", "/bin"])

    def run(*args):
        result = subprocess.run([str(tool / "bin" / "campaign"), *args, "--json"], cwd=repo, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)

    init = run("init", "--target", "campaign.toml", "--goal-speedup", "1.2")
    assert init["environment"]["python"] == str(python) and init["environment"]["how"] == ".venv"
    run("profile")
    run("think", "--hypothesis", "a second pass adds nothing", "--option", "drop it", "--chosen", "drop it",
        "--predict", "1.5", "--risk", "none")
    run("plan", "--phase", "work", "--change", "drop the second pass")
    (repo / layout.package_dir / "core.py").write_text(FAST)
    tried = run("try")
    assert tried["test"]["passed"] and tried["benchmark"]["verdict"] != "slower", tried
