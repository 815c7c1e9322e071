"""Which tests failed: the test runner's JUnit XML report, read back (TEST names its failures).

``junit_command`` adds ``--junitxml=<report>`` to a command that runs pytest
(``pytest``, ``py.test``, ``python -m pytest``, ``uv run pytest``, ...), so
no project has to configure anything; other runners name the report they
write with ``junit_xml = "path"`` in campaign.toml. ``failed_tests`` parses
the report into ``[{"name": "tests/test_x.py::test_y", "message": "assert ..."}]``.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

_PYTEST = re.compile(r"(?:^|(?<=[\s;&|(]))(?:\S*/)?(?:py\.test|pytest|python[\d.]*\s+-m\s+pytest)(?=\s|$|[;&|)])")
_GIVEN = re.compile(r"--junit-?xml(?:=|\s+)(\S+)")
MAX_FAILED = 20


def given_report(cmd: str) -> str | None:
    """The report path a command already passes to pytest (``--junitxml=PATH``), if any."""
    match = _GIVEN.search(cmd)
    return shlex.split(match.group(1))[0] if match else None


def junit_command(cmd: str, report: Path) -> str | None:
    """``cmd`` with ``--junitxml=report`` right after its pytest invocation; None when it runs no pytest."""
    match = _PYTEST.search(cmd)
    if match is None:
        return None
    return f"{cmd[:match.end()]} --junitxml={shlex.quote(str(report))}{cmd[match.end():]}"


def _test_name(case: ET.Element, root: Path) -> str:
    name = case.get("name", "?")
    file = case.get("file")
    if file:
        classname = case.get("classname", "").split(".")
        return "::".join([file, *classname[len(Path(file).with_suffix("").parts):], name])
    parts = [p for p in case.get("classname", "").split(".") if p]
    for i in range(len(parts), 0, -1):  # pytest's classname is the module path, then any classes
        candidate = "/".join(parts[:i]) + ".py"
        if (root / candidate).is_file():
            return "::".join([candidate, *parts[i:], name])
    return "::".join([*([".".join(parts)] if parts else []), name])


def _first_line(problem: ET.Element) -> str:
    for text in (problem.get("message"), problem.text):
        lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
        if lines:
            return lines[0][:300]
    return problem.tag


def failed_tests(report: Path, root: Path) -> list[dict]:
    """The failed or erroring test cases of a JUnit XML report (``[]`` when it cannot be read)."""
    try:
        tree = ET.parse(report)
    except (OSError, ET.ParseError):
        return []
    failed = []
    for case in tree.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failed.append({"name": _test_name(case, root), "message": _first_line(problem)})
    return failed[:MAX_FAILED]


def describe_failed(failed: list[dict]) -> str:
    """``tests/test_x.py::test_y — assert 1 == 2; ...`` (one line per run, for the CLI and the log)."""
    return "; ".join(f"{t['name']} — {t['message']}" if t.get("message") else t["name"] for t in failed)
