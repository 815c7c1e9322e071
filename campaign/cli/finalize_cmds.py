"""``campaign finalize``: a record's kept changes as independent, reviewable branches."""

from __future__ import annotations

from pathlib import Path

import click

from campaign.cli.common import emit, emit_failure, json_option, quiet_option
from campaign.cli.common import user_errors as _errors
from campaign.contract import ExitCode


@click.command("finalize")
@click.argument("record_dir", type=click.Path(path_type=Path))
@click.option("--repo", "repo_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The repository that holds the campaign's commits and its pre-optimization tag "
                   "(default: the one holding RECORD_DIR). Without them the campaign is rebuilt from the record.")
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Rebuild the campaign from the record here (an empty or new folder; kept: the branches live "
                   "there). Default: the repository when it has the commits, else a new temp folder.")
@click.option("--no-measure", "no_measure", is_flag=True,
              help="Only build the branches and their PR texts: no TEST, no benchmark.")
@click.option("--max-blocks", type=click.IntRange(2, 1000), default=None, help="Most blocks per branch's benchmark.")
@click.option("--budget", "budget_s", type=float, default=None, help="Seconds per branch's benchmark.")
@click.option("--trust", is_flag=True, help="Run a record from an unknown source (finalize executes its code).")
@quiet_option
@json_option
@_errors
def finalize(record_dir, repo_dir, workspace, no_measure, max_blocks, budget_s, trust, quiet, as_json):
    """One branch per kept change, on the pre-optimization commit, re-tested and re-measured alone.

    Changes that touch the same lines are grouped (and say so). Each branch
    gets a pull-request text and the `gh pr create` line that opens it.
    Exit code 4 when a branch fails its TEST or the branches do not merge
    one after another.
    """
    from campaign.cli.live import live_progress
    from campaign.review.finalize import finalize as do_finalize, format_text

    with live_progress(quiet or as_json) as say:
        result = do_finalize(record_dir, repo_dir=repo_dir, workspace=workspace, measure=not no_measure, trust=trust,
                             max_blocks=max_blocks, budget_s=budget_s, progress=say)
    if not result["tests_passed"] or not result["merges_cleanly"]:
        emit_failure(result, as_json, format_text, "finalize_failed",
                     "a branch failed its TEST or the branches do not merge one after another (see above)",
                     ExitCode.FINDINGS)
    emit(result, as_json, format_text)
