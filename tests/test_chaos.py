"""The chaos test, reduced: ``scripts/chaos.py`` with 8 kills (the full run: 50, see docs).

SIGKILL at random moments of every command, continuing as ``status`` says:
no event lost, no user file changed, no false claim by ``status``. Seeded,
so a failure is reproducible with the same ``--seed``; no timing assertion.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "chaos.py"


def test_chaos_8_kills(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--kills", "8", "--seed", "11", "--workdir",
                             str(tmp_path / "chaos"), "--json"], capture_output=True, text=True, timeout=1200)
    figures = json.loads(result.stdout)
    assert figures["kills"] == 8, figures
    assert figures["events_lost"] == 0, figures["problems"]
    assert figures["user_files_changed"] == 0, figures["problems"]
    assert figures["false_claims"] == 0, figures["problems"]
    assert not figures["stuck"], figures["problems"]
    assert figures["events"] > 0 and result.returncode == 0
