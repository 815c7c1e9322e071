"""Every measured process imports the code of the tree it measures, and campaign checks it.

``process_env(target, tree)`` is the environment of any process that runs a
target's code in ``tree`` (a workload, a build, the test command, a profile):

- ``PYTHONPATH`` starts with the tree's import roots
  (``campaign.plugins.project_env.import_roots``: ``src/`` in a src layout,
  then the tree), so an editable install that points at the main tree's
  ``src/`` loses to the measured tree's copy;
- the project's interpreter (``target.project_env``) comes first on ``PATH``
  (with ``VIRTUAL_ENV`` set) for a user's project; built-in targets keep
  campaign's own;
- a tiny ``sitecustomize`` (in a shim folder on ``PYTHONPATH``) records, when
  the process exits, every imported module of the target's scope whose file
  lies outside the measured tree.

``measured(target, tree)`` wraps one run: it yields that environment and,
once the run is over, raises ``ImportTreeError`` (no number is reported)
when the process imported the scope's code from anywhere else.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from campaign.errors import MeasureError
from campaign.plugins.project_env import HOW_OWN, import_roots, own_env, scope_modules

TREE_VAR = "CAMPAIGN_CHECK_TREE"
MODULES_VAR = "CAMPAIGN_CHECK_MODULES"
FILE_VAR = "CAMPAIGN_CHECK_FILE"

SITECUSTOMIZE = '''\
"""campaign's import check (campaign.measure.import_check): written by campaign, safe to delete."""
import atexit as _atexit
import os as _os
import sys as _sys


def _campaign_import_check():
    tree, out = _os.environ.get("CAMPAIGN_CHECK_TREE"), _os.environ.get("CAMPAIGN_CHECK_FILE")
    wanted = set(filter(None, _os.environ.get("CAMPAIGN_CHECK_MODULES", "").split(",")))
    if not (tree and out and wanted):
        return
    import json
    tree = _os.path.realpath(tree)
    lines = []
    for name, module in list(_sys.modules.items()):
        if name.split(".")[0] not in wanted or module is None:
            continue
        where = getattr(module, "__file__", None)
        paths = [where] if where else list(getattr(module, "__path__", None) or [])
        for path in paths:
            real = _os.path.realpath(path)
            if real != tree and not real.startswith(tree + _os.sep):
                lines.append(json.dumps({"module": name, "file": real, "pid": _os.getpid()}))
                break
    lines.append(json.dumps({"checked": _os.getpid()}))
    try:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write("\\n".join(lines) + "\\n")
    except OSError:
        pass


_atexit.register(_campaign_import_check)


def _campaign_chain():  # the sitecustomize this one shadows, if any, still runs
    import importlib.machinery
    import importlib.util
    here = _os.path.dirname(_os.path.abspath(__file__))
    rest = [p for p in _sys.path if p and _os.path.abspath(p) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


try:
    _campaign_chain()
except Exception:
    pass
'''


class ImportTreeError(MeasureError):
    """A measured process imported the target's code from outside the tree it measures: no number from it."""


def _campaign_package() -> Path:
    return Path(__file__).resolve().parents[1]


def shim_dirs(with_campaign: bool) -> list[str]:
    """The shim folders for ``PYTHONPATH``: the check's ``sitecustomize``, and (for a foreign interpreter) ``campaign``.

    A project's own interpreter cannot import campaign when campaign is a uv
    or pipx tool, yet the pytest-benchmark, perf-test and profile workers are
    campaign modules: the second folder holds only a ``campaign`` link, not
    the rest of campaign's environment.
    """
    package = _campaign_package()
    key = hashlib.sha256(f"{package}\0{SITECUSTOMIZE}".encode()).hexdigest()[:12]
    base = Path(tempfile.gettempdir()) / f"campaign-shim-{os.getuid() if hasattr(os, 'getuid') else 0}-{key}"
    check, link_dir = base / "check", base / "lib"
    if not (check / "sitecustomize.py").is_file():
        check.mkdir(parents=True, exist_ok=True)
        tmp = check / f".sitecustomize.{os.getpid()}.tmp"
        tmp.write_text(SITECUSTOMIZE, encoding="utf-8")
        os.replace(tmp, check / "sitecustomize.py")
    dirs = [str(check)]
    if with_campaign:
        link = link_dir / "campaign"
        if not link.exists():
            link_dir.mkdir(parents=True, exist_ok=True)
            try:
                link.symlink_to(package, target_is_directory=True)
            except FileExistsError:
                pass
        dirs.append(str(link_dir))
    return dirs


def process_env(target, tree: Path, base: dict | None = None) -> dict[str, str]:
    """The variables to add for a process running ``target``'s code in ``tree`` (see the module docstring)."""
    environ = os.environ if base is None else base
    penv = getattr(target, "project_env", None) or own_env()
    # a project's venv may share campaign's interpreter binary and still lack campaign: link it whenever the
    # environment is the project's (where it is campaign's own venv, the link is the same package)
    roots = import_roots(Path(tree))
    parts = [str(r) for r in roots] + shim_dirs(with_campaign=penv.how != HOW_OWN)
    if environ.get("PYTHONPATH"):
        parts.append(environ["PYTHONPATH"])
    env = {"PYTHONPATH": os.pathsep.join(parts), TREE_VAR: str(Path(tree).resolve()),
           MODULES_VAR: ",".join(scope_modules(Path(tree), list(getattr(target, "scope", []) or []), roots))}
    if penv.how != HOW_OWN:
        path = [p for p in environ.get("PATH", "").split(os.pathsep) if p and p != penv.bindir]
        env["PATH"] = os.pathsep.join([penv.bindir, *path])
        if penv.venv:
            env["VIRTUAL_ENV"] = penv.venv
    return env


def read_violations(path: Path) -> tuple[list[dict], int]:
    """The modules imported from outside the tree, and how many processes reported."""
    bad: list[dict] = []
    checked = 0
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return bad, checked
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if "checked" in item:
            checked += 1
        elif item.get("module"):
            bad.append(item)
    return bad, checked


def refusal(tree: Path, bad: list[dict]) -> ImportTreeError:
    first = bad[0]
    more = f" (and {len(bad) - 1} more module(s))" if len(bad) > 1 else ""
    return ImportTreeError(
        f"the process measuring {tree} imported module {first['module']!r} from {first['file']}, outside that "
        f"tree{more}: its number would measure other code, so none is reported. An editable install (a .pth "
        f"file or an __editable__ finder) or a sys.path change sends the import elsewhere; campaign puts the "
        f"tree's import roots first on PYTHONPATH, so look for code that changes sys.path (the workload, a "
        f"conftest.py) or declare the package folder in pyproject.toml (see docs/targets.md#where-the-code-comes-from).",
        {"module": first["module"], "file": first["file"], "tree": str(tree)})


@contextmanager
def measured(target, tree: Path, extra: dict | None = None) -> Iterator[dict[str, str]]:
    """Yield the environment for one run of ``target``'s code in ``tree``; refuse it when it imported other code."""
    fd, name = tempfile.mkstemp(prefix="campaign-imports-", suffix=".jsonl")
    os.close(fd)
    check_file = Path(name)
    try:
        env = process_env(target, tree)
        env[FILE_VAR] = str(check_file)
        for key, value in (extra or {}).items():
            if key == "PYTHONPATH" and value:  # the tree's roots stay first
                value = os.pathsep.join([env["PYTHONPATH"], str(value)])
            env[str(key)] = str(value)
        yield env
        bad, _ = read_violations(check_file)
        if bad:
            raise refusal(Path(tree), bad)
    finally:
        check_file.unlink(missing_ok=True)
