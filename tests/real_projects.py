"""Real Python projects as their maintainers install them, built in tmp dirs (issue 21).

Each layout is a small library with one slow function (``work``) and a
faster equivalent (``FAST``: the same outputs, about 1.5x less work), a
``bench.py`` that speaks the workload protocol, a pytest test, and its own
virtual environment with the library installed editable the normal way
(``pip install --no-build-isolation -e .``, no network). The project's venv
sees the test venv's packages through a ``.pth`` file (pytest, the build
backends), and holds one thing campaign's interpreter does not have: the
editable install itself and the ``projdep`` module the workload imports.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

from loop_fixtures import git

SLOW = textwrap.dedent("""
    def work(n):
        total = 0
        for i in range(n):
            total += (i * i) % 7
        seen = 0
        for i in range(n):
            seen += 1
        return total + seen - n
""").lstrip()

FAST = textwrap.dedent("""
    def work(n):
        total = 0
        for i in range(n):
            total += (i * i) % 7
        return total
""").lstrip()

BENCH = textwrap.dedent("""
    import json, sys, time
    import projdep
    from {pkg}.core import work
    n = {{"fast": 60000, "full": 90000}}[sys.argv[1]]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    t0 = time.perf_counter(); value = work(n); first = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter(); value = work(n); warm.append(time.perf_counter() - t0)
    print(json.dumps({{"outputs": {{"value": value, "dep": projdep.TAG}}, "phases": {{"work": min(warm)}},
                      "warm_s": warm, "first_call_s": first}}))
""").lstrip()

TEST = textwrap.dedent("""
    import projdep
    from {pkg}.core import work

    def test_work():
        assert projdep.TAG == "project-only"
        assert work(10) == sum((i * i) % 7 for i in range(10))
""").lstrip()

TOML = textwrap.dedent("""
    [target]
    name = "{name}"
    scope = ["{scope}"]
    run = "python bench.py {{case}} {{repeat}}"
    phases = ["work"]
    test = "python -m pytest -q -p no:cacheprovider tests"
    timeout_s = 120
    {environment}
    [tolerances]
    value = "exact"
    dep = "exact"
""").lstrip()


@dataclass
class Layout:
    """One project layout: its build configuration and where its package lives."""

    name: str
    backend: str  # setuptools / hatchling / flit_core
    src: bool  # src/ layout
    declared_venv: bool = False  # a venv outside the project, named in campaign.toml

    @property
    def pkg(self) -> str:
        return f"lib_{self.name.replace('-', '_')}"

    @property
    def package_dir(self) -> str:
        return f"src/{self.pkg}" if self.src else self.pkg

    def pyproject(self) -> str:
        head = {"setuptools": ('["setuptools>=64"]', "setuptools.build_meta"),
                "hatchling": ('["hatchling"]', "hatchling.build"),
                "flit_core": ('["flit_core>=3.4"]', "flit_core.buildapi")}[self.backend]
        text = (f'[build-system]\nrequires = {head[0]}\nbuild-backend = "{head[1]}"\n\n'
                f'[project]\nname = "{self.pkg}"\nversion = "0.1"\ndescription = "a test library"\n')
        if self.backend == "setuptools" and not self.src:
            text += f'\n[tool.setuptools]\npackages = ["{self.pkg}"]\n'
        return text


LAYOUTS = [
    Layout("st-src", "setuptools", src=True),
    Layout("hatch-src", "hatchling", src=True),
    Layout("st-flat", "setuptools", src=False),
    Layout("flit", "flit_core", src=True),
    Layout("declared", "setuptools", src=True, declared_venv=True),
]


def make_venv(path: Path) -> Path:
    """A venv whose site-packages also sees this test interpreter's (pytest, build backends); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "campaign_test_parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    Path(site, "projdep.py").write_text('TAG = "project-only"\n')  # only the project's environment has it
    return python


def make_project(root: Path, layout: Layout) -> tuple[Path, Path]:
    """The committed project and its venv's python (the library installed editable into it)."""
    root.mkdir(parents=True)
    pkg_dir = root / layout.package_dir
    pkg_dir.mkdir(parents=True)
    (pkg_dir / "__init__.py").write_text('"""a test library"""\n__version__ = "0.1"\n')
    (pkg_dir / "core.py").write_text(SLOW)
    (root / "tests").mkdir()
    (root / "tests" / "test_core.py").write_text(TEST.format(pkg=layout.pkg))
    (root / "bench.py").write_text(BENCH.format(pkg=layout.pkg))
    (root / "pyproject.toml").write_text(layout.pyproject())
    (root / "README.md").write_text("# a test library\n")
    venv = root.parent / f"{layout.name}-env" if layout.declared_venv else root / ".venv"
    environment = f'\n[environment]\npython = "{venv}/bin/python"\n' if layout.declared_venv else ""
    (root / "campaign.toml").write_text(TOML.format(name=layout.name, scope=f"{layout.package_dir}/**/*.py",
                                                    environment=environment))
    (root / ".gitignore").write_text("__pycache__/\n.venv/\nbuild/\ndist/\n*.egg-info/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a library")
    python = make_venv(venv)
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                                "--no-build-isolation", "-e", str(root)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return root, python


def build_dists(root: Path, python: Path, out: Path) -> dict[str, dict[str, str]]:
    """The sdist and the wheel of ``root`` (a clean export of HEAD), each as {member path: sha256}."""
    out.mkdir(parents=True)
    built = subprocess.run([str(python), "-m", "build", "--no-isolation", "--sdist", "--wheel", "-o", str(out),
                            str(root)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    dists = {}
    (sdist,) = out.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        dists["sdist"] = {m.name.split("/", 1)[1]: hashlib.sha256(tar.extractfile(m).read()).hexdigest()
                          for m in tar.getmembers() if m.isfile()}
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        dists["wheel"] = {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist()
                          if not n.endswith(".dist-info/RECORD")}
    return dists


def in_process_ratio(slow: str, fast: str, n: int = 30000, rounds: int = 25) -> float:
    """An independent timing of both versions in this process: slow time / fast time, each its fastest of
    ``rounds`` interleaved runs (interference only adds time, so the minimum is the least disturbed)."""
    import time

    funcs = []
    for source in (slow, fast):
        space: dict = {}
        exec(compile(source, "<work>", "exec"), space)
        funcs.append(space["work"])
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, func in enumerate(funcs):
            t0 = time.perf_counter()
            func(n)
            best[i] = min(best[i], time.perf_counter() - t0)
    return best[0] / best[1]
