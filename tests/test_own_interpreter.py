"""Children run under the framework's own interpreter, never the first `python` on PATH (issue 11 item 8).

`campaign` is called by a venv's absolute path (`venv/bin/python -m campaign`), the venv is not on
PATH, and the first `python` on PATH is a fake that exits 1, the way a pipx / `uv tool` install
meets a user's shell. The target's `run` and `test` commands say plain `python`.

Also: a test command that fails for a reason other than the outputs says so, with its stderr, in
`campaign try` and in the log; `init` refuses a test command that already fails on the baseline.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from loop_fixtures import SIEVE, cli_env, git, make_repo

REPO_ROOT = Path(__file__).resolve().parents[1]
SELF_TEST = "\n\ndef self_test():\n    return True\n"


def make_venv(root: Path) -> Path:
    """A venv that sees this checkout of campaign and every library the interpreter running the tests sees.

    Built from ``sys.executable`` (a venv's python builds a venv of the same base), and a .pth adds the
    running interpreter's site-packages with ``site.addsitedir`` (their own .pth files included): a user
    who installed ``.[test]`` into a venv has the libraries there, not in the base interpreter (issue 22
    item 0). Nothing is installed into it.
    """
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(root)],
                   check=True, timeout=300)
    purelib = subprocess.run([str(root / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    outer = [p for p in dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                                      sysconfig.get_paths()["platlib"]]) if Path(p).is_dir()]
    lines = [str(REPO_ROOT)] + [f"import site; site.addsitedir({p!r})" for p in outer]
    Path(purelib, "campaign_checkout.pth").write_text("\n".join(lines) + "\n")
    script = root / "bin" / "campaign"  # what pip writes for the console script
    script.write_text(f"#!{root / 'bin' / 'python'}\nimport sys\nfrom campaign.cli import main\n"
                      f"if __name__ == '__main__':\n    sys.exit(main())\n")
    script.chmod(0o755)
    return root


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "venv")


def test_the_venv_sees_the_libraries_of_the_interpreter_running_the_tests(venv):
    """The README's test command in a venv: the inner venv must import what the outer one installed."""
    probe = "import sys, rich, mcp, campaign; print(campaign.__file__); print('\\n'.join(sys.path))"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", probe], check=True, capture_output=True,
                         text=True, timeout=120).stdout.splitlines()
    assert Path(out[0]).resolve().is_relative_to(REPO_ROOT)  # this checkout, not another install
    assert os.path.realpath(sysconfig.get_paths()["purelib"]) in {os.path.realpath(p) for p in out[1:]}


@pytest.fixture
def hostile_path(tmp_path) -> dict[str, str]:
    """An environment whose first `python` (and python3) on PATH exits 1; no PYTHONPATH."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    for name in ("python", "python3"):
        (fake / name).write_text("#!/bin/sh\necho 'fake python: wrong interpreter' >&2\nexit 1\n")
        (fake / name).chmod(0o755)
    env = cli_env()
    env.pop("PYTHONPATH", None)
    env["PATH"] = os.pathsep.join([str(fake), "/usr/bin", "/bin"])
    return env


def _repo(tmp_path: Path, test: str) -> Path:
    repo = make_repo(tmp_path / "repo")
    toml = (repo / "campaign.toml").read_text().replace(sys.executable, "python")
    toml = "\n".join(f"test = {test!r}" if line.startswith("test =") else line for line in toml.splitlines()) + "\n"
    (repo / "campaign.toml").write_text(toml)
    (repo / "primes.py").write_text((repo / "primes.py").read_text() + SELF_TEST)
    (repo / "check.py").write_text("import primes\nassert primes.self_test()\nprint('self test ok')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plain python in campaign.toml")
    return repo


def _campaign(venv: Path, repo: Path, env: dict[str, str], *args: str, script: bool = False) -> subprocess.CompletedProcess:
    """`venv/bin/python -m campaign ARGS`, or the venv's console script `venv/bin/campaign ARGS`, by absolute path."""
    argv = [str(venv / "bin" / "campaign")] if script else [str(venv / "bin" / "python"), "-m", "campaign"]
    return subprocess.run([*argv, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _to_try(venv: Path, repo: Path, env: dict[str, str], script: bool = False) -> None:
    _ok(_campaign(venv, repo, env, "init", "--target", "campaign.toml", script=script))
    _ok(_campaign(venv, repo, env, "profile", script=script))
    _ok(_campaign(venv, repo, env, "think", "--hypothesis", "trial division", "--option", "sieve",
                  "--chosen", "sieve", "--predict", "3", "--risk", "none", script=script))
    _ok(_campaign(venv, repo, env, "plan", "--phase", "count", "--change", "sieve", script=script))


@pytest.mark.parametrize("script", [False, True], ids=["python-m-campaign", "console-script"])
def test_a_venv_campaign_runs_its_children_under_its_own_python(venv, hostile_path, tmp_path, script):
    repo = _repo(tmp_path, "python check.py")
    _to_try(venv, repo, hostile_path, script)
    (repo / "primes.py").write_text(SIEVE + SELF_TEST)
    out = _ok(_campaign(venv, repo, hostile_path, "try", script=script))
    assert "TEST passed" in out


def test_a_test_command_failure_says_why_with_its_stderr(venv, hostile_path, tmp_path):
    repo = _repo(tmp_path, "python check.py")
    _to_try(venv, repo, hostile_path)
    # the outputs stay identical; only the target's own test command breaks
    (repo / "primes.py").write_text((repo / "primes.py").read_text().replace(
        "    return True", "    import no_such_module_xyz\n    return True"))
    tried = _campaign(venv, repo, hostile_path, "try")
    assert tried.returncode == 3  # the contract: TEST failed
    assert "No module named 'no_such_module_xyz'" in tried.stdout + tried.stderr
    _ok(_campaign(venv, repo, hostile_path, "log", "--surprise", "the self test broke"))
    log = (repo / "optim" / "primes" / "optimization_log.md").read_text()
    assert "test command" in log and "No module named 'no_such_module_xyz'" in log


def test_init_refuses_a_test_command_that_fails_on_the_baseline(venv, hostile_path, tmp_path):
    repo = _repo(tmp_path, "python -c 'import no_such_module_xyz'")
    result = _campaign(venv, repo, hostile_path, "init", "--target", "campaign.toml")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "test command" in result.stderr and "No module named 'no_such_module_xyz'" in result.stderr
    assert not (repo / "optim" / "primes" / "journal.jsonl").exists()


def test_the_log_answer_names_a_failing_test_command_not_the_outputs():
    """What the playbook agent writes as Surprise when only the test command failed."""
    from campaign.agents.playbook_agent import playbook_log_answer
    from campaign.agents.runner import log_result
    from campaign.loop.machine import derive
    from records import clean_record

    b = clean_record()
    test = b.find("test", 1)["data"]
    test.update(passed=False, test_command={"cmd": "python -m targets.weight_search.check .", "rc": 1,
                                            "passed": False, "tail": "ModuleNotFoundError: No module named 'targets'",
                                            "stderr": "ModuleNotFoundError: No module named 'targets'"})
    events = b.events[: b.events.index(b.find("test", 1)) + 1]
    for seq, e in enumerate(events, start=1):
        e["seq"] = seq
    answer = playbook_log_answer(log_result(derive(events)))
    assert "No module named 'targets'" in answer["surprise"]
    assert "outputs differ" not in answer["surprise"] and "not exact" not in answer["surprise"]


def test_weight_search_test_command_uses_the_framework_interpreter(tmp_path, monkeypatch, hostile_path):
    from campaign.measure.correctness import run_test_command
    from targets.weight_search.target import WeightSearchTarget

    target = WeightSearchTarget()
    target.create_workspace(tmp_path / "ws")
    monkeypatch.setenv("PATH", hostile_path["PATH"])
    result = run_test_command(target.test_command, tmp_path / "ws", 300)
    assert result["passed"], result["tail"]
