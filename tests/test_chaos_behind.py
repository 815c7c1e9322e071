"""The chaos test's "behind the back" mode, reduced: ``scripts/chaos.py --behind-the-back`` with 6 git moves.

Commits, resets, stashes, branch switches and deletions between and during
the steps of campaigns driven as ``status`` says; every refusal followed back
as its message says. Nothing lost, nothing unrecorded merged, no step that
went on on top of a commit it did not make. Seeded; no timing assertion.
(The full run: 50 moves or more, its figures in docs/loop.md.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "chaos.py"


def test_chaos_behind_the_back_6_moves(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--behind-the-back", "--events", "6", "--seed", "5",
                             "--workdir", str(tmp_path / "chaos"), "--json"], capture_output=True, text=True,
                            timeout=1200)
    figures = json.loads(result.stdout)
    assert figures["events"] == 6, figures
    assert figures["events_lost"] == 0, figures["problems"]
    assert figures["unrecorded_merged"] == 0, figures["problems"]
    assert figures["false_statuses"] == 0, figures["problems"]
    assert figures["user_files_changed"] == 0, figures["problems"]
    assert not figures["stuck"], figures["problems"]
    assert figures["journal_events"] > 0 and result.returncode == 0
