"""The suite touches nothing of the user's (issue 22 items 1 and 9): tests/conftest.py isolates each test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from loop_fixtures import cli_env, git
from records import clean_record

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_a_finished_record_is_trusted_in_the_tests_own_trust_file(tmp_path):
    """What `campaign run`/`demo`/`finish` do at the end, through cli_env() as the CLI tests call it."""
    record = tmp_path / "rec" / "sum"
    clean_record().write(record)
    code = f"from campaign.review.replay import remember_trusted; print(remember_trusted({str(record)!r}))"
    digest = subprocess.run([sys.executable, "-c", code], env=cli_env(), check=True, capture_output=True,
                            text=True, timeout=120).stdout.strip()
    trust = Path(os.environ["CAMPAIGN_TRUST_FILE"])
    assert digest in trust.read_text().split()
    assert str(trust).startswith(os.path.dirname(os.environ["HOME"]))  # under this test's own tmp dir


def test_running_a_trusting_test_leaves_the_users_trust_store_untouched(tmp_path):
    """The test above, run as a user runs the suite: HOME is theirs, no CAMPAIGN_TRUST_FILE, no XDG dirs."""
    home = tmp_path / "user-home"
    store = home / ".config" / "campaign" / "trusted"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"0123abcd the user's own choice\n")
    (home / ".gitconfig").write_text("[user]\n\tname = The User\n\temail = user@example.com\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CAMPAIGN_", "XDG_", "PYTEST_", "GIT_CONFIG")) and k != "HOME"}
    env["HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/test_isolation.py::test_a_finished_record_is_trusted_in_the_tests_own_trust_file"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert store.read_bytes() == b"0123abcd the user's own choice\n"
    assert sorted(p.name for p in home.rglob("*")) == [".config", ".gitconfig", "campaign", "trusted"]


def test_each_test_has_its_own_home_and_git_identity_and_no_campaign_settings(tmp_path):
    assert not [k for k in os.environ if k.startswith("CAMPAIGN_") and k not in {
        "CAMPAIGN_TRUST_FILE", "CAMPAIGN_REQUIRE_CHROMIUM", "CAMPAIGN_TEST_POSTGRES_URL", "CAMPAIGN_NODE_PREFIX"}]
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "GIT_CONFIG_GLOBAL"):
        assert Path(os.environ[var]).exists() and "env" in Path(os.environ[var]).parts[-2], var
    assert os.environ["GIT_CONFIG_NOSYSTEM"] == "1"
    # a repo with no identity of its own commits with the isolated one, in a child process too
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "f").write_text("x\n")
    git(repo, "add", "f")
    git(repo, "commit", "-qm", "x")
    assert git(repo, "log", "-1", "--format=%an <%ae>") == "campaign tests <tests@campaign.invalid>"


def test_no_test_starts_a_system_service():
    """CI starts PostgreSQL itself (.ci/run); a test only reads CAMPAIGN_TEST_POSTGRES_URL (issue 22 item 2)."""
    here = Path(__file__).parent
    runs = [p.name for p in sorted(here.glob("*.py")) if p.name != Path(__file__).name
            and re.search(r"""["']start_postgres\.sh["']|pg_ctl|pg_createcluster|systemctl|service postgresql""",
                          p.read_text())]
    assert runs == []


def test_under_ci_a_skip_is_a_failure(tmp_path):
    """A skip at run time and one at collection (importorskip) both fail under CI=true; outside CI they skip."""
    here = Path(__file__).parent
    for name in ("conftest.py", "suite_env.py"):
        (tmp_path / name).write_bytes((here / name).read_bytes())
    (tmp_path / "test_skips.py").write_text("import pytest\n\ndef test_a():\n    pytest.skip('no service')\n")
    (tmp_path / "test_imports.py").write_text("import pytest\npytest.importorskip('no_such_module_xyz')\n"
                                              "def test_b():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}

    def run(ci: str, test: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
                               test], cwd=tmp_path, env={**env, "CI": ci}, capture_output=True, text=True, timeout=300)

    for test in ("test_skips.py", "test_imports.py"):
        outside = run("", test)
        assert outside.returncode in (0, 5) and "1 skipped" in outside.stdout, outside.stdout  # 5: none ran
        inside = run("true", test)
        assert inside.returncode != 0 and "skipped under CI=true" in inside.stdout, inside.stdout
        assert "skipped" not in inside.stdout.splitlines()[-1], inside.stdout  # counted as a failure, not a skip
    assert "no service" in run("true", "test_skips.py").stdout
