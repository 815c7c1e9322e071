"""SIGTERM is never swallowed, ``campaign mcp`` stops on SIGTERM/SIGINT, a kill -9'd run leaves nothing behind.

Issue 23 items 5-7.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time

import pytest


def test_a_sigterm_swallowed_by_a_finalizer_still_stops_and_exits_143(tmp_path):
    """`Terminated` raised inside `__del__` is "ignored" by Python; the flag is not: the next child, the run's next
    step and the exit code all see it."""
    script = tmp_path / "swallow.py"
    script.write_text(
        "import gc, os, signal, sys, time\n"
        "from campaign.cli.common import Terminated, handle_sigterm, run_with_contract\n"
        "from campaign.measure.procs import run_process\n"
        "handle_sigterm()\n"
        "class Finalized:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        for _ in range(10_000_000):\n"
        "            pass  # the handler runs here, inside the finalizer: Python prints and ignores it\n"
        "def command():\n"
        "    Finalized()\n"
        "    gc.collect()\n"
        "    print('the command went on', flush=True)\n"
        "    try:\n"
        "        run_process(['true'], cwd='.', timeout_s=10)\n"
        "    except Terminated:\n"
        "        print('no new child after a SIGTERM', flush=True)\n"
        "    return 0\n"
        "run_with_contract(command, as_json=False)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert "Exception ignored" in out.stderr and "Terminated" in out.stderr  # Python did swallow it
    assert "no new child after a SIGTERM" in out.stdout
    assert out.returncode == 143 and "terminated (SIGTERM)" in out.stderr, (out.returncode, out.stderr)


# -- campaign mcp stops on SIGTERM, a try in flight included ---------------------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import psutil  # noqa: E402

from loop_fixtures import SIEVE, campaign as run_cli, cli_env, make_repo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _rpc(proc, message: dict) -> None:
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_campaign_mcp_stops_on_a_signal_with_a_try_in_flight(tmp_path, sig, code):
    repo = make_repo(tmp_path / "repo")
    env = cli_env(PYTHONPATH=str(ROOT))
    for args in (("init", "--target", "campaign.toml"), ("profile",),
                 ("think", "--hypothesis", "trial division", "--option", "sieve", "--option", "cache",
                  "--chosen", "sieve", "--predict", "5x", "--risk", "off by one"),
                 ("plan", "--phase", "count", "--change", "a sieve")):
        result = run_cli(repo, *args, "--json", env=env)
        assert result.returncode == 0, result.stderr
    (repo / "primes.py").write_text(SIEVE)
    counter = tmp_path / "held"
    server_env = {**env, "PRIMES_HOLD_AFTER": str(counter)}  # the benchmark's processes block until killed
    proc = subprocess.Popen([sys.executable, "-m", "campaign", "mcp", "--dir", str(repo)], cwd=repo, env=server_env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _rpc(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}})
        assert json.loads(proc.stdout.readline())["id"] == 1
        _rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _rpc(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "try", "arguments": {}}})
        held = lambda: counter.exists() and len(set(counter.read_text().split())) > 1  # noqa: E731
        assert _wait_until(held, 240), "the benchmark never started"
        proc.send_signal(sig)  # stdin stays open: the server must stop by itself
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, proc.stderr.read().decode()[-2000:]
    pids = [int(p) for p in set(counter.read_text().split())]
    assert _wait_until(lambda: all(_gone(p) for p in pids), 10), "a workload of the try outlived the server"
    status = json.loads(run_cli(repo, "status", "--json", env=env).stdout)
    assert status["step"] == "try" and "interrupted" in (status["recovery"] or ""), status
    events = [json.loads(line) for line in (repo / "optim" / "primes" / "journal.jsonl").read_text().splitlines()]
    assert events[-1]["type"] in ("implement", "test") and not [e for e in events if e["type"] == "benchmark"]
    if events[-1]["type"] == "test":
        assert events[-1]["data"]["passed"] is True  # a killed workload is never recorded as a failed TEST
