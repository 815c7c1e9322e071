"""Terminal output that fits: tables to the terminal's width, numbers for people, titles cut at words,
and ``status`` on a record that finished elsewhere (exported without its tags) says so.

All on the shipped record ``optim/weight_search`` (copied into a throwaway git repository: it holds
the journal's ``finish`` with ``merged_into: main`` but none of its tags, branch or commits).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaign.cli import cli
from campaign.measure.humane import shorten, table, times
from loop_fixtures import git

SHIPPED = Path(__file__).resolve().parents[1] / "optim" / "weight_search"


@pytest.fixture
def clone(tmp_path):
    """A repository that received the shipped record as a plain commit (no tags, no campaign branch)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "dev")
    shutil.copytree(SHIPPED, repo / "optim" / "weight_search")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the record, exported")
    return repo


def run(args, columns=100):
    result = CliRunner().invoke(cli, args, env={"COLUMNS": str(columns)})
    return result


def test_numbers_for_people():
    assert times(2777.3) == "2,777x" and times(91.39) == "91.4x" and times(1.446) == "1.45x" and times(None) == "-"
    assert shorten("O(1) running winner instead of a row list and a sort", 30) == "O(1) running winner instead…"


def test_review_fits_the_terminal_and_prints_no_exponents():
    for columns in (80, 100, 140):
        out = run(["review", str(SHIPPED)], columns).output
        assert "e+0" not in out and "2,777x" in out
        too_wide = [line for line in out.splitlines() if len(line) > columns]
        assert too_wide == [], (columns, too_wide)


def test_a_table_wraps_its_long_column_inside_the_width():
    rows = [["1", "Leave the evaluation loop at the first line within tolerance", "1.45x"]]
    lines = table(["iter", "change", "speedup"], rows, width=40, wrap=("change",))
    assert max(map(len, lines)) <= 40
    assert "tolerance" in " ".join(lines) and "evaluation" in " ".join(lines)  # words kept whole


def test_a_table_too_wide_for_one_line_columns_wraps_them_rather_than_crop_a_cell():
    # seen in a fresh clone: `COLUMNS=80 campaign review` cut every surprise at the edge ("Predicted 1.",
    # "measured 1.4"): the one-line columns left the surprise less than its width, and rich crops silently
    headers = ["iter", "phase", "predicted", "measured [interval]", "verdict", "kept", "surprise"]
    rows = [["1", "evaluate", "1.05x", "1.45x [1.38x, 1.54x]", "faster", "yes",
             "Predicted 1.05x, measured 1.45x (99.958% CI 1.375-1.535, verdict faster): 38% more than predicted."],
            ["4", "evaluate", "1.30x", "-", "test failed", "no",
             "Predicted 1.30x, but TEST failed: W[edge-dominant][5]: values differ; expected 0.25"]]
    lines = table(headers, rows, width=80, wrap=("surprise",))
    assert max(map(len, lines)) <= 80
    printed = "".join("".join(lines).split()).replace("─", "")  # every character of every cell, none cropped
    assert len(printed) == sum(len("".join(c.split())) for c in [*headers, *(c for row in rows for c in row)])
    assert "38%morethanpredicted." in printed and "expected0.25" in printed


def test_status_cuts_no_word_and_fits(clone):
    out = run(["status", "--dir", str(clone)], 90).output
    prose = [line for line in out.splitlines() if not line.startswith("  campaign ")]  # a command stays whole
    assert max(map(len, prose)) <= 90
    words = " ".join(out.split())
    for title in ("O(1) running winner instead of a row list and a sort",
                  "Leave the evaluation loop at the first line within tolerance"):
        assert all(word in words for word in title.split())  # no title cut mid-word
    assert "e+0" not in out


def test_status_of_a_record_that_finished_elsewhere(clone):
    out = run(["status", "--dir", str(clone)]).output
    assert "interrupted" not in out and "campaign run --resume" not in out and "after a crash" not in out
    assert "finished in the repository where it was made" in out and "FINISHED elsewhere" in out
    payload = json.loads(run(["status", "--dir", str(clone), "--json"]).output)
    from campaign.contract import validation_errors

    assert validation_errors(payload, "status") == []
    assert payload["finished"] and payload["finished_elsewhere"] and payload["recovery"] is None
    assert payload["step"] == "done"
