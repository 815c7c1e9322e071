"""The machine contract: every command's ``--json`` output validates against its published schema.

For each outcome a program must tell apart -- success, user error, parser
error, step out of order (and TEST failed, review findings) -- the exit code
is the documented one and stdout is exactly one JSON object that validates
against ``campaign/schemas/<command>.schema.json`` (jsonschema).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaign.cli import COMMANDS, cli
from campaign.contract import ExitCode, load_schema, schema_names, validation_errors
from loop_fixtures import SIEVE, cli_env, make_repo
from test_cli_loop import _attempt, crafted

NOT_COMMANDS = {"envelope", "error", "common"}


def invoke(*args: str, code: int | None = None) -> dict:
    """Run ``campaign ARGS --json`` in-process (the same contract path as the console script)."""
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert "Traceback" not in result.stdout
    payload = json.loads(result.stdout)  # exactly one JSON object on stdout, whatever the outcome
    if code is not None:
        assert result.exit_code == code, (result.exit_code, payload)
    assert payload["schema_version"] == 1 and payload["ok"] is (result.exit_code == 0)
    return payload


def valid(payload: dict, command: str) -> dict:
    assert validation_errors(payload, command) == [], payload
    return payload


@pytest.fixture
def repo(tmp_path, monkeypatch):
    for key, value in cli_env().items():
        if key.startswith("CAMPAIGN_"):
            monkeypatch.setenv(key, value)
    return make_repo(tmp_path / "repo")


# -- the schemas themselves ----------------------------------------------------------------------------


def test_every_command_publishes_a_schema():
    assert set(COMMANDS) == set(schema_names()) - NOT_COMMANDS


def test_every_error_code_is_published():
    """Each library error class's code is in the schema's enum (a new class must be documented)."""
    import campaign.errors as errors

    def subclasses(cls):
        return {cls} | {s for sub in cls.__subclasses__() for s in subclasses(sub)}

    import campaign.agents.runner  # noqa: F401 - load every module that may define a UserError subclass
    import campaign.review.replay  # noqa: F401
    import campaign.tune.errors  # noqa: F401

    published = set(load_schema("error")["$defs"]["code"]["enum"])
    assert {cls.code for cls in subclasses(errors.UserError)} <= published
    assert {"usage_error", "internal_error", "test_failed", "review_findings", "interrupted"} <= published


def test_library_failures_that_are_user_errors():
    """A target that cannot load and git's own failure are user errors (exit 1) with their code; a bug is not."""
    from git import GitCommandError

    from campaign.errors import as_user_error
    from campaign.plugins.target import TargetError

    assert as_user_error(TargetError("no such target")).code == "target_error"
    git_failure = as_user_error(GitCommandError(["git", "merge"], 1, stderr="conflict in  a.py"))
    assert git_failure.code == "vcs_error" and "git failed: " in git_failure.message and "conflict in a.py" in git_failure.message
    assert as_user_error(ZeroDivisionError()) is None


def test_the_schemas_reject_what_breaks_the_contract():
    """Validation can fail: a failure without a code, an unknown code, a step error without `due`."""
    assert validation_errors({"ok": False, "message": "m", "schema_version": 1}, "status")
    assert validation_errors({"ok": False, "code": "oops", "message": "m", "schema_version": 1}, "status")
    assert validation_errors({"ok": False, "code": "step_out_of_order", "message": "m", "schema_version": 1}, "think")
    assert validation_errors({"ok": True, "schema_version": 1}, "status")  # success needs the status fields
    assert validation_errors({"ok": True, "name": "x"}, "status")  # no schema_version


# -- parser errors: exit 64, never 2 (2 is "step out of order") ---------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unknown_option_is_a_json_usage_error(command):
    payload = valid(invoke(command, "--no-such-option", code=ExitCode.USAGE), command)
    assert payload["code"] == "usage_error" and "--no-such-option" in payload["message"]
    assert payload["command"] == f"cli {command}"  # CliRunner's program name is the group's


@pytest.mark.parametrize("args", [
    ("init", "--max-iterations", "abc"),  # bad value
    ("run", "--agent", "llm"),  # bad choice
    ("tune", "weight_search", "--strategy", "fastest"),
    ("compare",),  # missing argument
    ("mcp", "--print-config", "gemini"),
])
def test_parser_errors_from_the_issue(args):
    payload = valid(invoke(*args, code=ExitCode.USAGE), args[0])
    assert payload["code"] == "usage_error"


def test_an_unknown_command_is_a_json_usage_error():
    payload = invoke("no-such-command", code=ExitCode.USAGE)
    assert validation_errors(payload, "envelope") == [] and payload["code"] == "usage_error"


def test_parser_error_exit_code_in_a_real_process(tmp_path):
    """The console path (python -m campaign) honours the contract as CliRunner does."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "campaign", "init", "--max-iterations", "abc", "--json"],
                          cwd=tmp_path, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 64
    assert valid(json.loads(proc.stdout), "init")["code"] == "usage_error"
    assert "Invalid value" in proc.stderr  # the person reading stderr still gets click's usage text


# -- a bug: exit 70, still one JSON object; the traceback goes to stderr -----------------------------------


def test_an_internal_error_is_json_with_the_traceback_on_stderr(repo, monkeypatch):
    from campaign.loop.session import Campaign

    crafted(repo, "start")

    def broken(self):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(Campaign, "status", broken)
    result = CliRunner().invoke(cli, ["status", "--dir", str(repo), "--json"])
    assert result.exit_code == ExitCode.INTERNAL
    payload = valid(json.loads(result.stdout), "status")
    assert payload["code"] == "internal_error" and "ZeroDivisionError: a bug" in payload["message"]
    assert "Traceback" in result.stderr and "Traceback" not in result.stdout


# -- user errors: exit 1 ------------------------------------------------------------------------------


@pytest.mark.parametrize("command,args", [
    ("status", ()), ("profile", ()), ("think", ()), ("plan", ()), ("try", ()), ("log", ()), ("decide", ()),
    ("skip", ()), ("finish", ()), ("render", ()),
])
def test_no_campaign_is_a_json_user_error(tmp_path, command, args):
    payload = valid(invoke(command, "--dir", str(tmp_path), *args, code=ExitCode.USER_ERROR), command)
    assert payload["code"] == "no_campaign" and "campaign init" in payload["message"]


def test_user_errors_of_the_other_commands(repo, tmp_path):
    missing = str(tmp_path / "missing")
    cases = {
        "init": ("init", "--target", "no_such_target", "--dir", str(repo)),
        "compare": ("compare", "nope1", "nope2", "--dir", str(repo)),
        "run": ("run", "--resume", "--dir", str(tmp_path)),
        "demo": ("demo", "no_such_target", "--workdir", str(tmp_path / "demo")),
        "replay": ("replay", missing),
        "review": ("review", missing),
        "report": ("report", missing, "--html", str(tmp_path / "r.html")),
        "tune": ("tune", "--dir", str(repo)),
    }
    for command, args in cases.items():
        payload = valid(invoke(*args, code=ExitCode.USER_ERROR), command)
        assert payload["code"] != "internal_error" and payload["message"], (command, payload)


# -- step out of order: exit 2 ------------------------------------------------------------------------


@pytest.mark.parametrize("upto,due,command,args", [
    ("start", "profile", "think", ("--hypothesis", "h", "--option", "a", "--chosen", "c", "--predict", "2",
                                   "--risk", "r")),
    ("start", "profile", "plan", ("--phase", "count", "--change", "sieve")),
    ("start", "profile", "try", ()),
    ("start", "profile", "log", ("--surprise", "None")),
    ("start", "profile", "decide", ()),
    ("start", "profile", "finish", ()),
    ("plan", "try", "skip", ("--why", "stuck")),
    ("plan", "try", "profile", ()),
])
def test_step_out_of_order_is_json(repo, upto, due, command, args):
    crafted(repo, upto)
    payload = valid(invoke(command, "--dir", str(repo), *args, code=ExitCode.STEP_OUT_OF_ORDER), command)
    assert payload["code"] == "step_out_of_order" and payload["due"] == due
    assert payload["command"].startswith(f"campaign {due}")


def test_tune_record_out_of_order(repo):
    crafted(repo, "start")  # a tune measures a planned iteration only
    payload = invoke("tune", "campaign.toml", "--knob", "x=1,2", "--record", "--dir", str(repo),
                     code=ExitCode.STEP_OUT_OF_ORDER)
    assert valid(payload, "tune")["due"] == "profile"


# -- successes (and the other failures) of the loop, on a real small campaign ---------------------------------


def test_a_campaign_through_json(repo, tmp_path):
    d = ("--dir", str(repo))
    valid(invoke("targets", *d, code=0), "targets")
    valid(invoke("init", "--target", "campaign.toml", "--goal-speedup", "2", *d, code=0), "init")
    valid(invoke("init", "--target", "campaign.toml", *d, code=ExitCode.USER_ERROR), "init")  # exists
    valid(invoke("status", *d, code=0), "status")
    valid(invoke("profile", *d, code=0), "profile")
    valid(invoke("think", "--hypothesis", "trial division", "--option", "sieve", "--chosen", "sieve",
                 "--predict", "nope", "--risk", "r", *d, code=ExitCode.USER_ERROR), "think")  # no number
    valid(invoke("think", "--hypothesis", "trial division", "--option", "sieve", "--chosen", "sieve",
                 "--predict", "5", "--risk", "memory", *d, code=0), "think")
    valid(invoke("plan", "--phase", "count", "--change", "sieve", *d, code=0), "plan")

    (repo / "primes.py").write_text(SIEVE.replace("return sum(sieve)", "return sum(sieve) - 1"))
    failed = valid(invoke("try", *d, code=ExitCode.TEST_FAILED), "try")
    assert failed["code"] == "test_failed" and failed["test"]["passed"] is False
    valid(invoke("log", "--surprise", "off by one", *d, code=0), "log")
    valid(invoke("decide", *d, code=0), "decide")

    valid(invoke("think", "--hypothesis", "trial division", "--option", "sieve", "--chosen", "sieve",
                 "--predict", "5", "--risk", "memory", *d, code=0), "think")
    valid(invoke("plan", "--phase", "count", "--change", "sieve, right this time", *d, code=0), "plan")
    (repo / "primes.py").write_text(SIEVE)
    tried = valid(invoke("try", *d, code=0), "try")
    assert tried["benchmark"]["verdict"] == "faster", tried["benchmark"]
    logged = valid(invoke("log", "--surprise", "None", "--why", "w", "--lesson", "l", *d, code=0), "log")
    assert logged["kept"] is True, (logged.get("refused"), logged.get("verdict"))
    decided = valid(invoke("decide", *d, code=0), "decide")
    assert decided["stop"] is True, decided
    valid(invoke("finish", *d, code=0), "finish")
    valid(invoke("render", *d, code=0), "render")
    valid(invoke("status", *d, code=0), "status")

    record = str(repo / "optim" / "primes")  # no longer in the tree: review and report read it from git
    valid(invoke("review", record, code=0), "review")
    valid(invoke("report", record, "--html", str(tmp_path / "report.html"), code=0), "report")
    valid(invoke("mcp", "--print-config", "codex", *d, code=0), "mcp")
    valid(invoke("compare", "campaign/primes/pre-optimization", "HEAD", "--max-blocks", "3", "--budget", "5", *d, code=0),
          "compare")

    exported = valid(invoke("export-record", str(tmp_path / "exported"), *d, code=0), "export-record")
    assert (Path(exported["record"]) / "journal.jsonl").is_file() and exported["files"] > 5

    broken = tmp_path / "broken"  # the same record with the Surprise of iteration 1 erased: a review finding
    shutil.copytree(exported["record"], broken)
    lines = [json.loads(line) for line in (broken / "journal.jsonl").read_text().splitlines()]
    for event in lines:
        if event["type"] == "log" and event.get("iteration") == 1:
            event["data"]["surprise"] = ""
    (broken / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    findings = valid(invoke("review", str(broken), code=ExitCode.FINDINGS), "review")
    assert findings["code"] == "review_findings" and findings["findings"]


def test_skip_success_is_json(repo):
    j = crafted(repo, "profile")
    for n in (1, 2, 3):
        _attempt(j, n)
    out = valid(invoke("skip", "--why", "three approaches broke the count", "--dir", str(repo), code=0), "skip")
    # the schema is closed: the check above covers every field, and an unknown one is refused (issue 22 item 8)
    assert validation_errors({**out, "surprise_field": 1}, "skip")
    assert validation_errors({key: value for key, value in out.items() if key != "why"} | {"reason": out["why"]}, "skip")


def test_run_demo_replay_and_tune_through_json(tmp_path, monkeypatch):
    """The autonomous commands, each in a fresh process as a user runs them: demo (init + run), run --resume,
    replay of the exported record; then tune."""
    from run_fixtures import cli, run_env, write_target_module  # the tiny playbook target, outside any repo

    env = run_env(write_target_module(tmp_path / "lib"))

    def process(*args: str, code: int = 0) -> dict:
        proc = cli(tmp_path, env, *args, "--json")
        assert proc.returncode == code, proc.stderr
        return json.loads(proc.stdout)

    workdir, export = tmp_path / "demo", tmp_path / "export"
    demo = valid(process("demo", "sumtarget:SumTarget", "--workdir", str(workdir), "--export", str(export),
                         "--goal-speedup", "1.5"), "demo")
    assert demo["finished"] is True
    valid(process("run", "--resume", "--dir", str(workdir)), "run")
    valid(process("replay", str(export / demo["name"]), "--trust"), "replay")

    shutil.copy(Path(__file__).parent / "tune_fixtures" / "tunefix.py", tmp_path / "tunefix.py")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(tmp_path))
    valid(invoke("tune", "tunefix:SleepMap", "--knob", "workers=1,2", "--strategy", "grid", "--no-hint",
                 "--dir", str(tmp_path), "--save", "contract", code=0), "tune")
    valid(invoke("tune", "--history", "--dir", str(tmp_path), code=0), "tune")
