"""The docs a newcomer reads first: the home page leads with the real agents and the 30-second start,
the demo's time is the one ``scripts/record_facts.py`` prints, and no page speaks the project's internal
language ("the issue's targets")."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")


def record_span() -> str:
    spec = importlib.util.spec_from_file_location("record_facts", ROOT / "scripts" / "record_facts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    minutes, seconds = divmod(round(module.facts(ROOT / "optim" / "weight_search")["span_s"]), 60)
    return f"{minutes} min {seconds} s"


def test_the_home_page_leads_with_the_real_agents_and_the_30_second_start():
    first = INDEX.split("## What you get")[0]
    assert "## In 30 seconds" in first
    agents = first.split("## In 30 seconds")[1].split("##")[0]
    for agent in ("--agent claude", "--agent codex", "--agent aider"):
        assert agent in agents
    assert first.index("## In 30 seconds") < first.index("## Two commands")


def test_one_demo_time_everywhere():
    span = record_span()
    assert span in INDEX and span in (ROOT / "README.md").read_text(encoding="utf-8")
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        # a demo duration given as the demo's time must be the record's; study runs name themselves
        for sentence in re.split(r"(?<=[.;])\s", " ".join(text.split())):
            if re.search(r"\bdemo\b", sentence) and re.search(r"\b\d+ minutes? of wall time", sentence):
                raise AssertionError(f"{page.name}: {sentence}")
    assert "5 minutes of wall time" not in INDEX


def test_no_internal_wording():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "the issue's" not in page.read_text(encoding="utf-8").lower(), page.name
