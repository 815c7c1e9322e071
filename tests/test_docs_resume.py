"""docs/agents.md's `campaign run --resume` synopsis names only options `campaign run` has (a user copies it)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from campaign.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_resume_synopsis_names_real_options():
    text = (DOCS / "agents.md").read_text()
    start = text.index("    campaign run --resume")
    block = text[start:text.index("\n\n", start)]
    named = set(re.findall(r"--[a-z][a-z-]+", block))
    assert {"--resume", "--agent", "--agent-cmd", "--parallel", "--cluster", "--dir"} <= named
    help_text = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200).output
    assert named <= set(re.findall(r"--[a-z][a-z-]+", help_text)), named
    assert "campaign run --resume --agent command --agent-cmd" in text  # after `campaign init`
