"""What every test runs in: its own HOME, XDG dirs, trust file and git config, no CAMPAIGN_* of the user's.

``tests/conftest.py`` applies :func:`isolate` around every test (issue 22 items 1 and 9): a suite run on a
developer's machine must not add digests to the trust store that decides what ``campaign replay`` may run,
and must not be steered by the settings or the global git config of whoever runs it. ``scripts/chaos.py``
uses :func:`isolated_env` for the same reason. :func:`in_ci` is the one answer to "is this CI".
"""

from __future__ import annotations

import os
from pathlib import Path

# set on purpose by .ci/run (or by a developer pointing the suite at their own service / install)
KEPT_CAMPAIGN_VARS = frozenset({"CAMPAIGN_REQUIRE_CHROMIUM", "CAMPAIGN_TEST_POSTGRES_URL", "CAMPAIGN_NODE_PREFIX"})
XDG_DIRS = {"XDG_CONFIG_HOME": "config", "XDG_CACHE_HOME": "cache", "XDG_DATA_HOME": "data",
            "XDG_STATE_HOME": "state", "XDG_RUNTIME_DIR": "runtime"}
GIT_IDENTITY = "[user]\n\tname = campaign tests\n\temail = tests@campaign.invalid\n[init]\n\tdefaultBranch = main\n"


def in_ci() -> bool:
    """CI is ``CI=true`` (what .ci/run and the usual CI services export); then nothing may skip."""
    return os.environ.get("CI") == "true"


def isolated_env(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ``os.environ``) with HOME, XDG dirs, the trust file and git's config under ``root``.

    Every ``CAMPAIGN_*`` variable is dropped except :data:`KEPT_CAMPAIGN_VARS`. Git reads only
    ``root/gitconfig`` (an identity for commits, no system file). pyenv's shims find their root by HOME,
    so a PYENV_ROOT under the real home is kept pointing there.
    """
    env = dict(os.environ if base is None else base)
    real_home = Path(env.get("HOME") or Path.home())
    for key in [k for k in env if k.startswith("CAMPAIGN_") and k not in KEPT_CAMPAIGN_VARS]:
        del env[key]
    if "PYENV_ROOT" not in env and (real_home / ".pyenv").is_dir():
        env["PYENV_ROOT"] = str(real_home / ".pyenv")
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    for var, name in XDG_DIRS.items():
        (root / name).mkdir(mode=0o700, exist_ok=True)
        env[var] = str(root / name)
    env["CAMPAIGN_TRUST_FILE"] = str(root / "config" / "campaign" / "trusted")
    gitconfig = root / "gitconfig"
    gitconfig.write_text(GIT_IDENTITY)
    env["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        env.pop(key, None)
    return env


def isolate(monkeypatch, root: Path) -> None:
    """Apply :func:`isolated_env` to ``os.environ`` for one test (undone by ``monkeypatch``)."""
    env = isolated_env(root)
    for key in [k for k in os.environ if k not in env]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
