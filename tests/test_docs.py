"""The docs stay true to the code: the README's commands, the site's build, the contract, the names.

The docs site (``mkdocs.yml``, ``docs/``) is built with ``--strict`` by
``.ci/run``; these tests catch the drift a build cannot see: an exit code
changed in ``campaign/errors.py`` but not in ``docs/contract.md``, a module
moved or renamed while a page still names it, a command nobody documented.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

DEMO_COMMAND = "pip install -e '.[test]' && campaign demo"
TEST_COMMAND = "pip install -e '.[test]' && python -m pytest -q -n 2"

# Named by the docs, being written on another branch.
# Delete an entry once its file has landed: from then on it must exist.
PENDING: set[str] = set()


def doc_texts() -> dict[str, str]:
    """Every hand-written page (README, CONTRIBUTING, docs/*.md), by path relative to the root."""
    paths = [README, ROOT / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in paths}


# -- the README ---------------------------------------------------------------------------


def test_readme_is_short_and_keeps_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 150
    lines = [line.strip() for line in text.splitlines()]
    assert any(line.startswith(DEMO_COMMAND) for line in lines)
    assert any(line.startswith(TEST_COMMAND) for line in lines)


def test_readme_and_contributing_links_resolve():
    # mkdocs checks the links inside docs/; these two pages live outside it
    for page in (README, ROOT / "CONTRIBUTING.md"):
        targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8"))
        assert targets, page
        assert [t for t in targets if not (page.parent / t).exists()] == [], page.name


def test_ci_builds_the_docs_strictly_then_runs_exactly_the_readme_test_command():
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert TEST_COMMAND in commands
    build = [i for i, c in enumerate(commands) if "mkdocs build" in c]
    assert build and "--strict" in commands[build[0]] and build[0] < commands.index(TEST_COMMAND)


# -- the site -----------------------------------------------------------------------------


def nav_pages(nav) -> list[str]:
    """The page paths of a mkdocs ``nav`` (nested lists of strings and one-key dicts)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in nav_pages(value)]
    return [p for item in nav for p in nav_pages(item)]


def test_nav_and_pages_match():
    import yaml  # the test extra (pyyaml)

    class Loader(yaml.SafeLoader):  # mkdocs.yml names Python objects (!!python/name:...)
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: suffix)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)
    listed = nav_pages(config["nav"])
    on_disk = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(listed) == on_disk
    assert "tuning.md" in listed and "contract.md" in listed and "architecture.md" in listed


def test_api_reference_has_a_page_per_subpackage():
    subpackages = sorted(p.parent.name for p in (ROOT / "campaign").glob("*/__init__.py"))
    for name in subpackages:
        page = DOCS / "reference" / f"{name}.md"
        assert page.exists(), f"no API page for campaign.{name}"
        assert f"::: campaign.{name}" in page.read_text()


def test_api_reference_has_every_foundation_module():
    modules = sorted(p.stem for p in (ROOT / "campaign").glob("*.py") if p.stem not in ("__init__", "__main__"))
    page = (DOCS / "reference" / "foundation.md").read_text()
    assert [m for m in modules if f"::: campaign.{m}" not in page] == []


def test_mkdocs_build_strict_passes(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "contract" / "index.html").exists()


# -- the contract -------------------------------------------------------------------------


def documented_exit_code(text: str, names: list[str]) -> set[int]:
    """The exit codes of the markdown table rows that name one of ``names`` in backticks.

    Format-agnostic on purpose: a row may be per class (| `StepError` | 2 | ...)
    or per exit code listing error codes (| 2 | ... | `step_out_of_order` |).
    """
    found = set()
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if any(f"`{name}`" in cell for cell in cells for name in names):
            found |= {int(c) for c in cells if c.isdigit()}
    return found


def test_contract_gives_every_error_class_its_exit_code():
    import campaign.errors as errors

    text = (DOCS / "contract.md").read_text()
    wrong = {}
    for name, cls in vars(errors).items():
        if isinstance(cls, type) and issubclass(cls, errors.UserError):
            names = [name] + ([cls.code] if isinstance(getattr(cls, "code", None), str) else [])
            if documented_exit_code(text, names) != {int(cls.exit_code)}:
                wrong[name] = (int(cls.exit_code), documented_exit_code(text, names))
    assert wrong == {}


def test_exit_code_reader_sees_a_wrong_code_in_either_table_shape():
    assert documented_exit_code("| `StepError` | 3 | x |\n| code | meaning |\n", ["StepError"]) == {3}
    assert documented_exit_code("| 2 | wrong step | `step_out_of_order` |\n", ["StepError", "step_out_of_order"]) == {2}
    assert documented_exit_code("| 2 | prose about StepError |\n", ["StepError"]) == set()


# -- names the docs use -------------------------------------------------------------------


def top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def stale_names(text: str, root: Path = ROOT) -> list[str]:
    """Paths and dotted names under campaign/, scripts/, tests/ that the text names but the tree lacks."""
    bad = []
    for path in set(re.findall(r"\b((?:campaign|scripts|tests|targets|tools)/[\w/]+\.(?:py|j2))\b", text)):
        if not (root / path).exists() and path not in PENDING:
            bad.append(path)
    for path, test in set(re.findall(r"\b(tests/\w+\.py)::(\w+)", text)):
        if (root / path).exists() and test not in top_level_names(root / path):
            bad.append(f"{path}::{test}")
    for dotted in set(re.findall(r"\bcampaign(?:\.\w+)+", text)):
        parts = dotted.split(".")
        if parts[1] == "toml":  # the file campaign.toml, not a module
            continue
        module, rest = root / "campaign", parts[1:]
        while rest and ((module / rest[0]).is_dir() or (module / f"{rest[0]}.py").exists()):
            module = module / rest[0] if (module / rest[0]).is_dir() else module / f"{rest[0]}.py"
            rest = rest[1:]
        if module.is_dir():
            module = module / "__init__.py"
        if rest and rest[0] not in top_level_names(module):
            bad.append(dotted)
    return sorted(bad)


def test_docs_name_only_modules_files_and_functions_that_exist():
    found = {page: stale_names(text) for page, text in doc_texts().items()}
    assert {page: names for page, names in found.items() if names} == {}


def test_stale_name_check_catches_a_moved_module_and_a_missing_function():
    text = ("see `campaign/stopping.py`, campaign.loop.stopping.no_such_rule, campaign.measure.bench, "
            "tests/test_stats.py::test_gone, campaign.toml and campaign.loop.stopping.decide")
    assert stale_names(text) == ["campaign.loop.stopping.no_such_rule", "campaign/stopping.py",
                                 "tests/test_stats.py::test_gone"]


def test_every_command_is_documented():
    from campaign.cli import COMMANDS

    text = "\n".join(t for page, t in doc_texts().items() if page.startswith("docs/"))
    # `campaign NAME ...` in prose, or a row of the loop's command table: | `NAME ...` |
    missing = [name for name in COMMANDS
               if not re.search(rf"`campaign {name}\b|^\| `{name}\b", text, re.M)]
    assert missing == []


# -- the API pages' docstring rewriting ---------------------------------------------------


def plain_docstrings():
    import importlib.util

    spec = importlib.util.spec_from_file_location("griffe_plain_docstrings", ROOT / "tools" / "griffe_plain_docstrings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_tables_and_literal_blocks_keep_their_layout():
    to_markdown = plain_docstrings().to_markdown
    text = ("Each line is one object::\n\n    {\"seq\": 7}\n\n"
            "Event types:\n\n"
            "init        name, goal,\n            branch\nthink       hypothesis\n\n"
            "* a built-in name,\n  continued\n* module:Class")
    assert to_markdown(text) == ("Each line is one object:\n\n    {\"seq\": 7}\n\n"
                                 "Event types:\n\n"
                                 "    init        name, goal,\n                branch\n    think       hypothesis\n\n"
                                 "* a built-in name,\n  continued\n* module:Class")
    assert to_markdown("Plain prose\nover two lines.") == "Plain prose\nover two lines."


# -- the examples run ---------------------------------------------------------------------


def python_block(page: str, containing: str) -> str:
    """The first ```python block of a docs page that contains ``containing``."""
    for block in re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S):
        if containing in block:
            return block
    raise AssertionError(f"no python block with {containing!r} in docs/{page}")


def test_the_module_class_example_of_the_targets_page_runs_a_campaign(tmp_path):
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from loop_fixtures import PRIMES, campaign, cli_env, git
    finally:
        sys.path.remove(str(ROOT / "tests"))
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "dev")
    (repo / "primes.py").write_text(PRIMES)
    (repo / "primes_target.py").write_text(python_block("targets.md", "class PrimesTarget"))
    (repo / ".gitignore").write_text("__pycache__/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "naive prime counter")
    env = cli_env(PYTHONPATH=os.pathsep.join(["."] + [p for p in [os.environ.get("PYTHONPATH")] if p]))

    init = campaign(repo, "init", "--target", "primes_target:PrimesTarget", "--goal-speedup", "3", "--json", env=env)
    assert init.returncode == 0, init.stderr
    profile = campaign(repo, "profile", "--json", env=env)
    assert profile.returncode == 0, profile.stderr
    result = json.loads(profile.stdout)
    assert set(result["shares"]) == {"setup", "count"}
    assert result["next"]["step"] == "think"


def test_no_prose_line_starts_a_blockquote_by_accident():
    # a wrapped ">= 1 + m" at the start of a line renders as a quote, not as text
    for page, text in doc_texts().items():
        lines = [line for line in re.sub(r"```.*?```", "", text, flags=re.S).splitlines()
                 if re.match(r"^\s*>", line) and not line.startswith("    ")]
        assert lines == [], page
