"""Where a project's code is imported from, and whose Python runs it.

Two questions every measured process of a user's project must answer the
same way, whichever tree (the workspace, the baseline's or the last kept
commit's worktree) it measures:

- **the import roots** of a tree: the folders that must come first on
  ``sys.path`` so that the tree's own copy of the code is imported. A
  ``src/`` layout installed editable (``pip install -e .``: a ``.pth`` or a
  setuptools ``__editable__`` finder) points every checkout at the main
  tree's ``src/``; putting the measured tree's ``src/`` first on
  ``PYTHONPATH`` wins over both (``PYTHONPATH`` precedes site-packages, and
  the path finder runs before an editable finder).
- **the project's interpreter**: the ``python`` declared in ``campaign.toml``
  (``[environment] python = ".venv/bin/python"``), else the project's
  ``.venv`` (beside ``campaign.toml``; for a replay, which rebuilds the
  project in a temporary folder, also in the project that holds the record),
  else the active ``VIRTUAL_ENV``, else ``uv run``'s environment when the
  project has a ``uv.lock``, else campaign's own. Campaign installed
  as a uv or pipx tool thereby runs a project's workload and tests with the
  project's dependencies, not its own.

Pure functions over files and texts, plus one ``uv`` call for a uv project
without a ``.venv``.
"""

from __future__ import annotations

import configparser
import glob
import os
import subprocess
import sys
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

HOW_DECLARED = "declared"  # campaign.toml [environment] python
HOW_DOT_VENV = ".venv"
HOW_VIRTUAL_ENV = "VIRTUAL_ENV"
HOW_UV = "uv run"
HOW_OWN = "campaign's own"


@dataclass(frozen=True)
class ProjectEnv:
    """The interpreter a project's commands run under, and how it was found."""

    python: str
    how: str

    @property
    def bindir(self) -> str:
        return os.path.dirname(self.python)

    @property
    def venv(self) -> str | None:
        """The virtual environment's folder, when the interpreter is one's (a ``pyvenv.cfg`` beside ``bin/``)."""
        root = Path(self.python).parent.parent
        return str(root) if (root / "pyvenv.cfg").is_file() else None

    def to_dict(self) -> dict:
        return {**asdict(self), "venv": self.venv}

    def describe(self) -> str:
        return f"{self.python} ({self.how})"


def own_env() -> ProjectEnv:
    """Campaign's own interpreter (built-in targets, ``module:Class`` targets)."""
    return ProjectEnv(sys.executable, HOW_OWN)


def target_env(target) -> ProjectEnv:
    """The interpreter ``target``'s commands run under: its project's, or campaign's own (a built-in target)."""
    return getattr(target, "project_env", None) or own_env()


class ProjectEnvError(Exception):
    """A declared or detected interpreter does not exist or cannot run."""


def _venv_python(venv: Path) -> Path | None:
    for name in ("bin/python", "bin/python3", "Scripts/python.exe"):
        if (venv / name).exists():
            return venv / name
    return None


def _uv_python(root: Path) -> str | None:
    """The interpreter of ``uv run`` in ``root`` (uv creates and syncs the project's ``.venv``), if uv is here."""
    import shutil

    uv = shutil.which("uv") or (os.path.join(os.path.dirname(sys.executable), "uv")
                                if os.path.exists(os.path.join(os.path.dirname(sys.executable), "uv")) else None)
    if not uv:
        return None
    try:
        out = subprocess.run([uv, "run", "--project", str(root), "python", "-c", "import sys; print(sys.executable)"],
                             cwd=root, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[-1] if out.returncode == 0 and lines else None


def resolve_project_env(root: Path, declared: str | None = None, environ: Mapping[str, str] | None = None,
                        also: tuple[Path, ...] = ()) -> ProjectEnv:
    """The interpreter a user's project runs under (the rule in this module's docstring)."""
    root = Path(root)
    env: Mapping[str, str] = os.environ if environ is None else environ
    if declared:
        path = Path(os.path.expanduser(declared))
        if not path.is_absolute():
            path = root / path
        if path.is_dir():
            path = _venv_python(path) or path
        if not path.exists():
            raise ProjectEnvError(f"the interpreter declared in campaign.toml ([environment] python = {declared!r}) "
                                  f"does not exist at {path}. Create the project's environment (e.g. `python -m "
                                  f"venv .venv && .venv/bin/pip install -e .`) or fix the path.")
        return ProjectEnv(str(path.absolute()), HOW_DECLARED)
    for where in (root, *also):  # also: where a replay's record lives (it rebuilds the project in a temp dir)
        found = _venv_python(Path(where) / ".venv")
        if found:
            return ProjectEnv(str(found.absolute()), HOW_DOT_VENV)
    active = env.get("VIRTUAL_ENV")
    active_python = _venv_python(Path(active)) if active else None
    if active_python:
        return ProjectEnv(str(active_python.absolute()), HOW_VIRTUAL_ENV)
    if (root / "uv.lock").is_file():
        python = _uv_python(root)
        if python:
            return ProjectEnv(python, HOW_UV)
    return own_env()


# ---------------------------------------------------------------- import roots


def _pyproject(tree: Path) -> dict:
    try:
        return tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


def toml_table(doc: Any, *keys: str) -> dict[str, Any]:
    """The table at ``keys`` in a parsed TOML document (pure); empty where a key is missing or not a table.

    Build configuration is optional at every level, and a hand-written file may put a string where a
    table belongs: neither is this reader's error to raise.
    """
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc if isinstance(doc, dict) else {}


def _configured_roots(tree: Path) -> list[str]:
    """Package folders the build configuration names (setuptools, hatchling, setup.cfg), relative to ``tree``."""
    doc = _pyproject(tree)
    roots: list[str] = []
    package_dir = toml_table(doc, "tool", "setuptools", "package-dir")
    if isinstance(package_dir.get(""), str):
        roots.append(package_dir[""])
    where = toml_table(doc, "tool", "setuptools", "packages", "find").get("where") or []
    roots += [w for w in where if isinstance(w, str)]
    for pkg in toml_table(doc, "tool", "hatch", "build", "targets", "wheel").get("packages") or []:
        if isinstance(pkg, str) and "/" in pkg.strip("/"):
            roots.append(str(Path(pkg.strip("/")).parent))
    cfg = configparser.ConfigParser()
    try:
        cfg.read(tree / "setup.cfg", encoding="utf-8")
        text = cfg.get("options", "package_dir", fallback="")
    except configparser.Error:
        text = ""
    for line in text.replace(";", "\n").splitlines():
        key, _, value = line.partition("=")
        if value.strip() and not key.strip():
            roots.append(value.strip())
    return roots


def _has_src_layout(tree: Path) -> bool:
    src = tree / "src"
    return src.is_dir() and (any(src.glob("*/__init__.py")) or any(src.glob("*.py")))


def import_roots(tree: Path) -> list[Path]:
    """The folders to put first on ``sys.path`` so that ``tree``'s own code is imported (deepest config first)."""
    tree = Path(tree)
    found: list[Path] = []
    for rel in _configured_roots(tree) + (["src"] if _has_src_layout(tree) else []):
        path = (tree / rel).resolve() if rel not in ("", ".") else tree.resolve()
        if path.is_dir() and path not in found and path.is_relative_to(tree.resolve()):
            found.append(path)
    if tree.resolve() not in found:
        found.append(tree.resolve())
    return found


def scope_modules(tree: Path, scope: list[str], roots: list[Path] | None = None) -> list[str]:
    """The top-level module names the ``scope`` globs' Python files are imported as from ``tree``'s roots."""
    tree = Path(tree).resolve()
    roots = roots if roots is not None else import_roots(tree)
    names: set[str] = set()
    for pattern in scope:
        for match in glob.glob(str(tree / pattern), recursive=True):
            path = Path(match)
            if path.suffix != ".py":
                continue
            for root in roots:  # the deepest root first: src/ before the tree itself
                try:
                    rel = path.resolve().relative_to(root)
                except ValueError:
                    continue
                top = rel.parts[0]
                name = top[:-3] if top.endswith(".py") else top
                if name.isidentifier() and name not in ("setup", "conftest"):
                    names.add(name)
                break
    return sorted(names)
