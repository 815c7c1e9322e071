"""Where a campaign's record lives in the workspace: ``optim/<name>/``, or ``optim-records/<name>/``.

The record is merged into the user's branch and must change nothing about how
their project builds. One build is changed by any folder at all: setuptools'
automatic discovery in a flat layout (no ``src/``, no ``packages`` or
``py-modules`` given) takes every top-level directory whose name is a Python
identifier for a package, so a top-level ``optim/`` makes ``pip wheel .`` fail
("Multiple top-level packages discovered in a flat-layout: ['optim', ...]").
Such a project gets its record under ``optim-records/``: not an identifier, so
never a package, never importable. Every other project keeps ``optim/``.

``discovers_top_level_dirs`` is pure (the texts of the build files in);
``choose_record_root`` reads them; ``existing_root`` and ``list_campaigns``
find records under either folder.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path

from campaign.plugins.project_env import toml_table

RECORD_ROOT = "optim"
INERT_RECORD_ROOT = "optim-records"  # a hyphen: never a package name to setuptools, never importable
RECORD_ROOTS = (RECORD_ROOT, INERT_RECORD_ROOT)

_SETUP_PY_EXPLICIT = re.compile(r"\b(packages|py_modules)\s*=")


def _pyproject_says(text: str) -> str | None:
    """"explicit", "other-backend" or None (setuptools, auto-discovery) from pyproject.toml's text."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    backend = toml_table(doc, "build-system").get("build-backend")
    if backend and not backend.startswith("setuptools"):
        return "other-backend"
    tool = toml_table(doc, "tool", "setuptools")
    packages = tool.get("packages")
    if "py-modules" in tool or isinstance(packages, list):
        return "explicit"
    if toml_table(doc, "tool", "setuptools", "packages", "find").get("include"):
        return "explicit"
    return None


def _setup_cfg_explicit(text: str) -> bool:
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return False
    return parser.has_option("options", "packages") or parser.has_option("options", "py_modules")


def discovers_top_level_dirs(pyproject: str | None, setup_cfg: str | None, setup_py: str | None,
                             has_src_dir: bool) -> bool:
    """True when setuptools' flat-layout auto-discovery would package a new top-level folder. Pure.

    Errs on the side of True when unsure: the cost is only the record's folder name.
    """
    if pyproject is None and setup_cfg is None and setup_py is None:
        return False  # not a setuptools project
    if has_src_dir:
        return False  # src-layout: only src/ is searched
    if pyproject is not None:
        said = _pyproject_says(pyproject)
        if said is not None:
            return False
    if setup_cfg is not None and _setup_cfg_explicit(setup_cfg):
        return False
    if setup_py is not None and _SETUP_PY_EXPLICIT.search(setup_py):
        return False
    return True


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def choose_record_root(workspace: Path) -> str:
    """The folder a new campaign's record goes under in ``workspace``."""
    workspace = Path(workspace)
    flat = discovers_top_level_dirs(_read(workspace / "pyproject.toml"), _read(workspace / "setup.cfg"),
                                    _read(workspace / "setup.py"), (workspace / "src").is_dir())
    return INERT_RECORD_ROOT if flat else RECORD_ROOT


def existing_root(workspace: Path, name: str) -> str | None:
    """The folder that holds campaign ``name``'s journal, if any."""
    for root in RECORD_ROOTS:
        if (Path(workspace) / root / name / "journal.jsonl").is_file():
            return root
    return None


def list_campaigns(workspace: Path) -> list[str]:
    """The names of the campaigns recorded in ``workspace``, under either folder."""
    names: set[str] = set()
    for root in RECORD_ROOTS:
        folder = Path(workspace) / root
        if folder.is_dir():
            names.update(p.parent.name for p in folder.glob("*/journal.jsonl"))
    return sorted(names)


COPY_FOLDER = "campaign"  # under the git dir: <git dir>/campaign/<name>/


def copy_dir(workspace: Path, name: str) -> Path | None:
    """Where the protected copy of campaign ``name``'s journal lives (None outside a git repository)."""
    from campaign.vcs import git_dir

    folder = git_dir(Path(workspace))
    return folder / COPY_FOLDER / name if folder is not None else None
