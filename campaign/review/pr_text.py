"""The pull-request text of one finalized branch, and the ``gh pr create`` line that opens it (pure).

A reviewer reads this first: what changed, what was claimed (the recorded
speedup with its interval and level), what the branch measured alone against
the pre-optimization commit, the prediction made before measuring and the
Surprise written after, and the tests that ran. Everything comes from plain
dicts (``campaign.review.finalize``); nothing here touches git or processes.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from campaign.measure.humane import duration as _duration, times


def slug(text: str, limit: int = 40) -> str:
    """``"O(1) running winner instead of a sort"`` -> ``"o-1-running-winner-instead-of-a-sort"`` (a branch-safe word)."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] or words[:limit]
    return words or "change"


def interval(ci, level: float | None, kind: str | None = None) -> str:
    """``[1.38x, 1.54x] (99.958% CI)``; a product of intervals says it was multiplied, not measured."""
    if not ci:
        return "no interval"
    from campaign.measure.stats import format_level

    span = f"[{times(ci[0])}, {times(ci[1])}]"
    if kind == "product":
        return f"{span} (the product of the members' intervals: multiplied, not measured)"
    return f"{span} ({format_level(level)} CI)" if level else span


def title(group: dict[str, Any]) -> str:
    """The PR's title: the change, and which iteration(s) of the campaign it was."""
    members = group["changes"]
    if len(members) == 1:
        return f"{members[0]['title']} (campaign iteration {members[0]['iteration']})"
    its = ", ".join(str(c["iteration"]) for c in members)
    return f"{members[0]['title']} + {len(members) - 1} dependent change(s) (campaign iterations {its})"


def _claim_lines(group: dict[str, Any]) -> list[str]:
    claim = group["claim"]
    lines = [f"- **Recorded claim:** {times(claim['speedup'])}, {interval(claim['ci'], claim.get('ci_level'), claim.get('kind'))}"
             f" - {claim['what']}."]
    remeasured = group.get("remeasured")
    if remeasured is None:
        lines.append("- **Re-measured alone:** not measured (`--no-measure`).")
        return lines
    if remeasured.get("error"):
        lines.append(f"- **Re-measured alone:** could not be measured: {remeasured['error']}")
        return lines
    inside = group.get("within_recorded_interval")
    where = {True: "inside the recorded interval", False: "OUTSIDE the recorded interval",
             None: "no recorded interval to compare with"}[inside]
    lines.append(f"- **Re-measured alone against the pre-optimization commit:** {times(remeasured['speedup'])}, "
                 f"{interval(remeasured['ci'], remeasured.get('ci_level'))}, verdict {remeasured['verdict']} "
                 f"(case {remeasured['case']}, metric {remeasured.get('metric') or 'wall'}): {where}.")
    total = remeasured.get("total") or {}
    if total.get("old_s") and total.get("new_s"):
        lines.append(f"- **Absolute time, case {remeasured['case']}:** {_duration(total['old_s'])} before, "
                     f"{_duration(total['new_s'])} after (fastest warm run).")
    if inside is False:
        lines.append("  A change measured alone need not repeat its in-campaign number: in the campaign it ran on top "
                     "of the changes kept before it, and a phase's share of the run (Amdahl) differs alone.")
    return lines


_INTERPRETER = re.compile(r"^\S*/python[\d.]*(?=\s)")


def command_text(cmd: str) -> str:
    """A test command without the machine's interpreter path: ``/x/.venv/bin/python -m t`` -> ``python -m t``."""
    return _INTERPRETER.sub("python", cmd)


def body(group: dict[str, Any], record_name: str, agent: str | None = None) -> str:
    """The markdown body of the pull request for one group (one kept change, or changes that only apply together)."""
    lines = [f"Finalized from the performance campaign `{record_name}` (`campaign finalize`)."
             + (f" The changes were made by {agent}." if agent else ""), ""]
    together = group.get("together")
    if together:
        lines += [f"**These changes only apply together:** {together}", ""]
    lines.append("## What changed")
    for c in group["changes"]:
        files = ", ".join(f"`{f}`" for f in c["files"]) or "(no files)"
        lines.append(f"- Iteration {c['iteration']}: {c['title']} (phase `{c.get('phase') or '-'}`; {files})")
        if c.get("hypothesis"):
            lines.append(f"  - Hypothesis: {c['hypothesis']}")
    lines += ["", "## The claim"]
    lines += _claim_lines(group)
    lines += ["", "## Prediction and Surprise"]
    for c in group["changes"]:
        predicted = "no prediction" if c.get("predicted") is None else f"predicted {times(c['predicted'])}"
        lines.append(f"- Iteration {c['iteration']}: {predicted} before measuring; measured {times(c.get('speedup'))} "
                     f"in the campaign. Surprise: {c.get('surprise') or 'None'}")
    lines += ["", "## Tests that ran on this branch"]
    test = group.get("test")
    if test is None:
        lines.append("- not re-tested (`--no-measure`); in the campaign: " + "; ".join(
            f"iteration {c['iteration']} passed TEST on {', '.join(c['cases']) or 'its cases'}" for c in group["changes"]))
    else:
        verdict = "PASS" if test["passed"] else "FAIL"
        lines.append(f"- Outputs of case(s) {', '.join(test['cases'])} against the recorded baseline outputs, with the "
                     f"target's tolerances: {verdict}")
        command = test.get("test_command") or {}
        if command.get("cmd"):
            lines.append(f"- The target's test command `{command_text(command['cmd'])}`: "
                         f"{'PASS' if command.get('passed') else 'FAIL'}")
        for failure in test.get("failures") or []:
            lines.append(f"  - {failure.get('message')}")
    lines += ["", f"Base: the pre-optimization commit `{group['base'][:12]}`; the branch applies on it alone."]
    return "\n".join(lines) + "\n"


def gh_line(branch: str, base_branch: str, pr_title: str, body_file: str) -> str:
    """The command that pushes the branch and opens its pull request with GitHub's CLI."""
    q = shlex.quote
    return (f"git push -u origin {q(branch)} && gh pr create --base {q(base_branch)} --head {q(branch)} "
            f"--title {q(pr_title)} --body-file {q(body_file)}")
