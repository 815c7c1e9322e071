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
