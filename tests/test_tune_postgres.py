"""Tuning beyond one machine: two ``campaign tune`` workers share one Optuna study on a real PostgreSQL server.

The server is the one ``CAMPAIGN_TEST_POSTGRES_URL`` names: ``.ci/run`` starts Debian's
``postgresql`` package with ``scripts/start_postgres.sh`` (127.0.0.1 only) and exports its URL.
No test starts a service (issue 22 item 2: this file used to run the script itself, as root,
leaving a role with a known password and a running server). Each test gets a database of its
own, dropped afterwards. Without the URL the server tests skip, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from campaign.tune import store as tune_store
from suite_env import in_ci

FIXTURE = Path(__file__).parent / "tune_fixtures" / "tunefix.py"


@pytest.fixture(scope="module")
def server_url() -> str:
    url = os.environ.get("CAMPAIGN_TEST_POSTGRES_URL")
    if url:
        return url
    message = ("no CAMPAIGN_TEST_POSTGRES_URL: point it at a server of your own "
               "(scripts/start_postgres.sh starts one on 127.0.0.1 and prints its URL, as .ci/run does)")
    if in_ci():
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)


@pytest.fixture
def database(server_url):
    """A fresh database on the server (the URL as a user would type it: plain postgresql://)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"campaign_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_engine_url_gives_a_plain_postgresql_url_the_installed_driver():
    assert tune_store.engine_url("postgresql://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert tune_store.engine_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert tune_store.engine_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"  # named: kept
    assert tune_store.engine_url("sqlite:///x.db") == "sqlite:///x.db"


def test_table_creation_is_retried_when_another_worker_created_the_tables_first():
    from sqlalchemy.exc import ProgrammingError

    calls = []

    def create():
        calls.append(1)
        if len(calls) == 1:  # the other worker's CREATE TABLE won the race
            raise ProgrammingError("CREATE TABLE", {}, Exception("relation already exists"))
        return "created"

    assert tune_store.create_tables(create) == "created" and len(calls) == 2

    def always():
        raise ProgrammingError("CREATE TABLE", {}, Exception("permission denied"))

    with pytest.raises(ProgrammingError):  # a real failure still surfaces (as a StoreError, by the caller)
        tune_store.create_tables(always, attempts=3)


def test_a_write_that_collides_with_another_workers_write_overwrites(tmp_path):
    from sqlalchemy.exc import IntegrityError

    store = tune_store.TuneStore(f"sqlite:///{tmp_path / 'tune.sqlite'}")
    try:
        def collide(conn):
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))

        assert store._run(collide, on_conflict=lambda conn: "overwritten") == "overwritten"
        with pytest.raises(tune_store.StoreError):  # without a conflict rule it is the storage's failure
            store._run(collide)
        fields = dict(target="t", machine="m", code="c", protocol="p", knobs={"w": 1})
        store.put("k", result={"status": "ok", "speedup": 1.5}, **fields)
        store.put("k", result={"status": "ok", "speedup": 1.6}, **fields)
        assert store.get("k")["speedup"] == 1.6 and store.count() == 1
    finally:
        store.close()


def test_two_tune_workers_share_one_postgres_study(tmp_path, database):
    import optuna

    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(FIXTURE, ws / "tunefix.py")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ws), os.environ.get("PYTHONPATH")])))
    env.pop("CAMPAIGN_TUNE_STORAGE", None)
    args = [sys.executable, "-m", "campaign", "tune", "tunefix:SleepMap", "--knob", "workers=1,2,8",
            "--strategy", "smart", "--trials", "2", "--no-hint", "--json", "--dir", str(ws)]
    # one worker is given the URL as a flag, the other in the environment (what keeps a password out of ps)
    workers = [subprocess.Popen(args + ["--storage", database], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True),
               subprocess.Popen(args, env=dict(env, CAMPAIGN_TUNE_STORAGE=database), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)]
    reports = []
    for w in workers:
        out, err = w.communicate(timeout=600)
        assert w.returncode == 0, err
        reports.append(json.loads(out))
    names = {r["study"]["name"] for r in reports}
    assert len(names) == 1, names  # one study, not one per worker
    assert all(r["storage"].startswith("postgresql://") and "campaign:***@" in r["storage"] for r in reports)

    storage = optuna.storages.RDBStorage(tune_store.engine_url(database))
    assert [s.study_name for s in optuna.get_all_study_summaries(storage)] == list(names)
    study = optuna.load_study(study_name=names.pop(), storage=storage)
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    workers_named = {r["study"]["this_worker"] for r in reports}
    assert len(workers_named) == 2, workers_named  # two workers, each under a name of its own
    by_worker = {t.user_attrs.get("worker") for t in finished} - {None}
    # which worker measured what is the scheduler's choice (one may take every result from the other)
    assert by_worker and by_worker <= workers_named, by_worker
    assert any(t.value is not None and t.value > 1 for t in finished)  # more workers win: a measured trial says so
    # a configuration is measured once: a worker that drew one another worker was measuring took its result
    fresh = [tuple(sorted(row["knobs"].items())) for r in reports for row in r["configs"]
             if not row["default"] and not row["cached"]]
    assert sorted(fresh) == sorted(set(fresh)), fresh
    assert fresh and {dict(k)["workers"] for k in fresh} <= {2, 8}, fresh
    store = tune_store.TuneStore(database)  # the measurement cache lives on the server too
    try:
        assert store.count() >= 3  # the default and at least two configurations
    finally:
        store.close()
