"""Replay's trust covers every file a replay executes, and only this machine or ``--trust`` grants it
(issue 11 item 10).

The records here are crafted (tests/records.py) with a ``campaign.toml`` target in their baseline
snapshot whose ``run =`` command would leave a marker file: a refused replay must never create it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from loop_fixtures import cli_env, git
from records import clean_record

OUTPUT = '{"outputs": {"total": 1}, "phases": {}, "warm_s": [0.1], "first_call_s": 0.1}'
TOML = """\
[target]
name = "crafted"
scope = ["pkg/*.py"]
run = "{run}"
fast_case = "fast"
full_case = "fast"
"""


def _record(dest: Path, marker: Path) -> Path:
    """A replayable-looking record whose snapshot has a benign ok.sh and a payload pwn.sh."""
    b = clean_record()
    b.snapshot["ok.sh"] = f"echo '{OUTPUT}'\n"
    b.snapshot["pwn.sh"] = f"touch {marker}\necho '{OUTPUT}'\n"
    b.snapshot["campaign.toml"] = TOML.format(run="sh ok.sh {case}")
    b.find("init", None)["data"]["target_spec"] = "campaign.toml"
    b.write(dest)
    for event in b.events:  # real patch digests, so a replay would get as far as running the target
        if event["type"] == "implement":
            event["data"]["patch_sha256"] = hashlib.sha256((dest / event["data"]["patch"]).read_bytes()).hexdigest()
    (dest / "journal.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in b.events))
    (dest / "baseline.json").write_text(json.dumps(
        {"commit": "0000001abc", "cases": {"fast": {"outputs": {"total": 1}, "phases": {}, "warm_s": 0.1}}}))
    return dest


def _env(tmp_path: Path) -> dict[str, str]:
    return cli_env(CAMPAIGN_TRUST_FILE=str(tmp_path / "config" / "trusted"))


def _remember(record: Path, env: dict[str, str]) -> None:
    """What `campaign run`/`demo` do when they finish a record on this machine."""
    code = f"from campaign.review.replay import remember_trusted; remember_trusted({str(record)!r})"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)


def _replay(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "campaign", "replay", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _refused(result: subprocess.CompletedProcess, marker: Path) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "--trust" in result.stderr
    assert not marker.exists(), "the record's code ran although the record is not trusted"


def test_editing_the_snapshots_run_command_makes_replay_refuse(tmp_path):
    env, marker = _env(tmp_path), tmp_path / "PWNED"
    record = _record(tmp_path / "rec" / "crafted", marker)
    _remember(record, env)
    toml = record / "baseline_snapshot" / "campaign.toml"
    toml.write_text(toml.read_text().replace("sh ok.sh", "sh pwn.sh"))
    result = _replay(tmp_path, env, str(record))
    _refused(result, marker)
    assert "unknown source" in result.stderr


def test_a_changed_file_is_named_when_the_record_carries_its_manifest(tmp_path):
    from campaign.loop.manifest import write_manifest

    env, marker = _env(tmp_path), tmp_path / "PWNED"
    record = _record(tmp_path / "rec" / "crafted", marker)
    write_manifest(record)
    _remember(record, env)
    toml = record / "baseline_snapshot" / "campaign.toml"
    toml.write_text(toml.read_text().replace("sh ok.sh", "sh pwn.sh"))
    result = _replay(tmp_path, env, str(record))
    _refused(result, marker)
    assert "baseline_snapshot/campaign.toml" in result.stderr  # names what changed


def test_editing_the_snapshots_code_makes_replay_refuse(tmp_path):
    env, marker = _env(tmp_path), tmp_path / "PWNED"
    record = _record(tmp_path / "rec" / "crafted", marker)
    _remember(record, env)
    (record / "baseline_snapshot" / "ok.sh").write_text(f"touch {marker}\necho '{OUTPUT}'\n")
    _refused(_replay(tmp_path, env, str(record)), marker)


def test_a_fresh_clone_holding_a_record_is_not_trusted(tmp_path):
    env, marker = _env(tmp_path), tmp_path / "PWNED"
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    git(hostile, "init", "-q", "-b", "main")
    git(hostile, "config", "user.email", "evil@example.com")
    git(hostile, "config", "user.name", "evil")
    record = _record(hostile / "optim" / "crafted", marker)
    toml = record / "baseline_snapshot" / "campaign.toml"
    toml.write_text(toml.read_text().replace("sh ok.sh", "sh pwn.sh"))
    git(hostile, "add", "-A")
    git(hostile, "commit", "-qm", "a record")
    subprocess.run(["git", "clone", "-q", str(hostile), str(tmp_path / "clone")], check=True, capture_output=True)
    result = _replay(tmp_path / "clone", env, "optim/crafted")
    _refused(result, marker)
    assert "unknown source" in result.stderr


def test_the_manifest_covers_what_replay_executes_and_is_what_gets_trusted(tmp_path):
    from campaign.loop.manifest import manifest, manifest_digest, write_manifest

    env = _env(tmp_path)
    record = _record(tmp_path / "rec" / "crafted", tmp_path / "PWNED")
    digest = write_manifest(record)  # what `campaign finish` does before the record's last commit
    _remember(record, env)
    written = json.loads((record / "manifest.json").read_text())
    assert {"journal.jsonl", "baseline.json", "baseline_snapshot/campaign.toml", "baseline_snapshot/ok.sh",
            "patches/iter-01-kept.patch"} <= set(written["files"])
    assert manifest_digest(written) == digest
    assert digest in Path(env["CAMPAIGN_TRUST_FILE"]).read_text().split()
    (record / "patches" / "iter-01-kept.patch").write_text("diff\n")
    assert manifest_digest(manifest(record)) != digest


def test_trust_flag_runs_a_record_without_a_manifest(tmp_path):
    """Like the shipped optim/weight_search (recorded before manifests): --trust is all it needs."""
    env, marker = _env(tmp_path), tmp_path / "PWNED"
    record = _record(tmp_path / "rec" / "crafted", marker)
    toml = record / "baseline_snapshot" / "campaign.toml"
    toml.write_text(toml.read_text().replace("sh ok.sh", "sh pwn.sh"))
    assert not (record / "manifest.json").exists()
    result = _replay(tmp_path, env, str(record), "--trust", "--json")
    assert "unknown source" not in result.stderr and "Traceback" not in result.stderr
    assert marker.exists()  # the user said --trust: the record's code ran


def test_a_snapshot_symlink_leaving_the_record_is_refused_even_with_trust(tmp_path):
    """Its target is no part of the record, so no manifest and no --trust can cover what it runs."""
    import os

    env, marker = _env(tmp_path), tmp_path / "PWNED"
    outside = tmp_path / "outside.sh"
    outside.write_text(f"touch {marker}\necho '{OUTPUT}'\n")
    record = _record(tmp_path / "rec" / "crafted", marker)
    ok = record / "baseline_snapshot" / "ok.sh"
    ok.unlink()
    os.symlink(outside, ok)
    result = _replay(tmp_path, env, str(record), "--trust")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "ok.sh" in result.stderr and "symlink" in result.stderr
    assert not marker.exists()


def test_the_manifest_covers_the_snapshot_archive(tmp_path):
    """Records now hold their snapshot as baseline_snapshot.tar.gz: altering it must change the digest."""
    from campaign.loop.manifest import manifest, manifest_digest

    record = _record(tmp_path / "rec" / "crafted", tmp_path / "PWNED")
    (record / "baseline_snapshot.tar.gz").write_bytes(b"archive v1")
    before = manifest(record)
    assert "baseline_snapshot.tar.gz" in before["files"]
    (record / "baseline_snapshot.tar.gz").write_bytes(b"archive v2")
    assert manifest_digest(manifest(record)) != manifest_digest(before)
