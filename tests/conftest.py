"""Suite-wide rules: every test isolated from the user's environment; under ``CI=true`` no test skips.

Isolation (tests/suite_env.py): each test gets its own HOME, XDG dirs, trust file and git config, and no
``CAMPAIGN_*`` variable of the caller's leaks in. A session-wide layer covers module- and session-scoped
fixtures, which run before any function-scoped one.

Skips: a test that skips in CI proves nothing and says nothing, so with ``CI=true`` a skip (a missing
CLI, PostgreSQL URL, wheel, ...) is reported as a failure with the skip's reason. ``.ci/run`` also fails
on any skip in its JUnit report.
"""

from __future__ import annotations

import pytest

from suite_env import in_ci, isolate


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp_path_factory.mktemp("session-env"))
        yield


@pytest.fixture(autouse=True)
def _isolated_test(_isolated_session, tmp_path_factory, monkeypatch):
    isolate(monkeypatch, tmp_path_factory.mktemp("env"))


def _skip_fails_in_ci(report) -> None:
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test must run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _skip_fails_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _skip_fails_in_ci(outcome.get_result())
