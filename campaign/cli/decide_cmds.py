"""The end of an iteration and of the campaign: DECIDE, skip a bottleneck, FINISH."""

from __future__ import annotations

from typing import Any

import click

from campaign.cli.common import dir_option, emit, json_option, quiet_option
from campaign.cli.common import user_errors as _errors
from campaign.cli.loop_common import live, name_option, next_line, open_campaign, times_text


# -- decide / skip / finish ------------------------------------------------------------------


@click.command("decide")
@click.option("--exhausted", is_flag=True,
              help="Declare the current bottleneck (the plan's phase) exhausted; needs --why. The campaign stops "
                   "when every phase with >5% share is exhausted, otherwise it re-profiles.")
@click.option("--stop", is_flag=True,
              help="Stop the campaign now (out of time, the goal changed); needs --why. Recorded and rendered; "
                   "FINISH is then due. Also allowed between iterations.")
@click.option("--why", default=None, help="Why the bottleneck is exhausted, or why you stop (with --stop).")
@click.option("--phase", default=None,
              help="With --exhausted between iterations (PROFILE/THINK due): the phase you have no idea left for "
                   "(default: the largest open phase).")
@name_option
@dir_option
@json_option
@_errors
def decide(exhausted, stop, why, phase, name, workspace, as_json):
    """DECIDE: apply the stopping rules (goal, 3 iterations under 5%, iteration cap, exhausted).

    Also allowed between iterations as `decide --exhausted --why T [--phase P]`:
    declare that you have no idea left for a phase instead of inventing a change.
    `decide --stop --why T` ends the campaign for a reason of yours (out of
    time, the goal changed): recorded, rendered, then `campaign finish`.
    """
    result = open_campaign(workspace, name).decide(exhausted, why, phase, stop)
    emit(result, as_json, lambda r: f"{'STOP' if r['stop'] else 'continue'} ({r['rule']}): {r['reason']}\n" + next_line(r))


@click.command("skip")
@click.option("--why", default=None, help="Why you are stuck on this bottleneck (required).")
@name_option
@dir_option
@json_option
@_errors
def skip(why, name, workspace, as_json):
    """Skip the current bottleneck after 3 failed attempts on it, with a written reason."""
    result = open_campaign(workspace, name).skip(why)
    emit(result, as_json, lambda r: f"skipped {r['bottleneck']} after {r['failed_attempts']} failed attempts\n" + next_line(r))


@click.command("finish")
@name_option
@quiet_option
@dir_option
@json_option
@_errors
def finish(name, quiet, workspace, as_json):
    """FINISH: TEST and benchmark of the full case vs the baseline, tag <name>/post-optimization, merge back.

    A full case whose outputs differ from the baseline's refuses the finish
    (exit code 3, the output named): nothing is tagged or merged, and the fix
    is a new iteration (THINK is due).
    """
    from campaign.review.trust import remember_trusted

    with live(quiet) as say:
        campaign = open_campaign(workspace, name, say)
        result = campaign.finish(progress=say)
    remember_trusted(campaign.record_dir)  # this machine made the record: `campaign replay` may run it
    emit(result, as_json, _finish_text)


def _finish_text(r: dict[str, Any]) -> str:
    from campaign.loop.record import Finish

    done = Finish.from_json(r)  # the finish event's data, as the answer embeds it
    checked = done.validation
    return (f"finished: {times_text(done.final_speedup)} over baseline; full case "
            + (f"{checked.case!r}: outputs match the baseline's, " if checked and checked.passed else "")
            + f"{times_text(done.full.speedup if done.full else None)} vs the pre-optimization mark; "
            f"marked {done.post_tag}, merged the code change into {done.merged_into} (the record stays in git: "
            f"`campaign export-record DIR` writes it out)")
