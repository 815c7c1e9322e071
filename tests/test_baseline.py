import json
import subprocess
import sys
import textwrap

import pytest

from campaign.measure.baseline import (
    BaselineError,
    baseline_outputs,
    check_correctness,
    environment_warnings,
    extract_snapshot,
    load_baseline,
    record_baseline,
)
from campaign.plugins.loading import load_target

TOY = textwrap.dedent(
    """
    from campaign.plugins.phases import phase
    from campaign.plugins.target import PythonTarget, Tolerance

    class BaseToy(PythonTarget):
        name = "basetoy"
        scope = ["basetoy_mod.py"]
        tolerances = {"mean": Tolerance("tight")}

        def run_case(self, case, workdir, knobs=None):
            n = 1000 if case == "fast" else 5000
            with phase("sum"):
                s = sum(range(n))
            return {"total": s, "mean": s / n}
    """
)


@pytest.fixture
def ws(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "basetoy_mod.py").write_text(TOY)
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "add", "."], cwd=ws, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"], cwd=ws, check=True)
    monkeypatch.syspath_prepend(str(ws))
    target = load_target("basetoy_mod:BaseToy")
    sys.modules.pop("basetoy_mod", None)
    return target, ws


def test_record_and_load(ws, tmp_path):
    target, workspace = ws
    rec = tmp_path / "optim" / "c1"
    event = record_baseline(target, workspace, rec, ["fast", "full"], repeat=2)
    for key in ("commit", "dirty", "case", "outputs", "phases", "warm_s", "first_call_s", "compile_s", "environment",
                "snapshot"):
        assert key in event
    assert event["case"] == "fast" and event["outputs"] == {"total": 499500, "mean": 499.5}
    assert len(event["commit"]) == 40 and event["dirty"] is False
    assert json.loads((rec / "baseline_results" / "full.json").read_text())["total"] == sum(range(5000))
    assert not (rec / "baseline_snapshot").exists()  # no loose tree: one inert archive
    assert extract_snapshot(rec, tmp_path / "unpacked") == ["basetoy_mod.py"]
    assert (tmp_path / "unpacked" / "basetoy_mod.py").read_text() == TOY
    doc = load_baseline(rec)
    assert set(doc["cases"]) == {"fast", "full"} and doc["environment"]["python"]
    assert baseline_outputs(rec, "fast")["mean"] == 499.5
    assert all(isinstance(w, str) for w in environment_warnings(doc))


def test_never_overwritten(ws, tmp_path):
    target, workspace = ws
    rec = tmp_path / "rec"
    record_baseline(target, workspace, rec, ["fast"], repeat=1)
    before = (rec / "baseline.json").read_text()
    with pytest.raises(BaselineError, match="already exists"):
        record_baseline(target, workspace, rec, ["fast"], repeat=1)
    assert (rec / "baseline.json").read_text() == before


def test_dirty_flag_and_correctness(ws, tmp_path):
    target, workspace = ws
    rec = tmp_path / "rec"
    record_baseline(target, workspace, rec, ["fast"], repeat=1)
    report, _ = check_correctness(target, workspace, rec, "fast")
    assert report.passed
    src = workspace / "basetoy_mod.py"
    src.write_text(src.read_text().replace("s / n", "s / n + 1e-3"))
    report, _ = check_correctness(target, workspace, rec, "fast")
    assert not report.passed and report.failures[0].output == "mean"
    event = record_baseline(target, workspace, tmp_path / "rec2", ["fast"], repeat=1)
    assert event["dirty"] is True


def test_missing_baseline(tmp_path):
    with pytest.raises(BaselineError, match="no baseline"):
        load_baseline(tmp_path)
    (tmp_path / "baseline.json").write_text("{torn")
    with pytest.raises(BaselineError, match="not valid JSON"):
        load_baseline(tmp_path)


def run_script(name, ws, *args):
    import os

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ws), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(root / "scripts" / name), "--target", "basetoy_mod:BaseToy",
                           "--dir", str(ws), "--record", "optim/c1", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_scripts(ws):
    _, workspace = ws
    r = run_script("run_baseline.py", workspace, "--case", "fast", "--repeat", "1")
    assert r.returncode == 0, r.stderr
    assert "baseline recorded" in r.stdout
    r = run_script("run_baseline.py", workspace, "--case", "fast")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = run_script("optim_correctness.py", workspace)
    assert r.returncode == 0 and r.stdout.strip().endswith("PASS")
    r = run_script("optim_benchmark.py", workspace, "--max-blocks", "3")
    assert r.returncode == 0, r.stderr
    assert "TOTAL" in r.stdout and "Correctness: PASS" in r.stdout and "Phase" in r.stdout
    src = workspace / "basetoy_mod.py"
    src.write_text(src.read_text().replace("s / n", "s / n * 2"))
    r = run_script("optim_correctness.py", workspace)
    assert r.returncode == 1 and "FAIL" in r.stdout and "mean" in r.stdout
    r = run_script("optim_benchmark.py", workspace, "--stored")
    assert r.returncode == 1 and "Correctness: FAIL" in r.stdout and "not interleaved" in r.stdout


def test_snapshot_archive_is_deterministic_and_cannot_escape(tmp_path):
    import io
    import tarfile

    from campaign.measure.baseline import write_archive

    entries = [("pkg/b.py", b"b = 2\n", 0o100644), ("run.sh", b"#!/bin/sh\n", 0o100755), ("pkg/a.py", b"a = 1\n", 0o100644)]
    (tmp_path / "one").mkdir(), (tmp_path / "two").mkdir()
    assert write_archive(tmp_path / "one" / "baseline_snapshot.tar.gz", entries) == ["pkg/a.py", "pkg/b.py", "run.sh"]
    write_archive(tmp_path / "two" / "baseline_snapshot.tar.gz", list(reversed(entries)))
    one = (tmp_path / "one" / "baseline_snapshot.tar.gz").read_bytes()
    assert one == (tmp_path / "two" / "baseline_snapshot.tar.gz").read_bytes()  # no time, owner or order leaks in
    assert extract_snapshot(tmp_path / "one", tmp_path / "out") == ["pkg/a.py", "pkg/b.py", "run.sh"]
    assert (tmp_path / "out" / "run.sh").stat().st_mode & 0o100

    evil = tmp_path / "evil"
    evil.mkdir()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped.py")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"x\n"))
    (evil / "baseline_snapshot.tar.gz").write_bytes(raw.getvalue())
    with pytest.raises(BaselineError, match="cannot be read"):
        extract_snapshot(evil, tmp_path / "victim")
    assert not (tmp_path / "escaped.py").exists()
