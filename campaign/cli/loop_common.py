"""What the loop's commands share: the campaign they open, the progress they report, the lines they print.

The loop, step by step, is thin click commands over ``campaign.loop.session``
(``setup_cmds``: init, targets; ``status_cmds``: status, render;
``plan_cmds``: profile, think, plan; ``try_cmds``: try, log;
``decide_cmds``: decide, skip, finish). Each command parses, calls one
library function, prints (``--json``: one JSON object). Exit codes
(``campaign.contract.ExitCode``): 0 ok; 1 a user error (the message says what
to do); 2 this step may not come next (the message names the step due and
its exact command); 3 TEST failed. ``campaign status`` is the compass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click


def name_option(func: Callable) -> Callable:
    return click.option("--name", default=None, help="The campaign (optim/<name>/); needed only when there are several.")(func)


def live(quiet: bool):
    """What a long step reports to: a live line on a terminal, heartbeats in a log (``campaign.cli.live``)."""
    from campaign.cli.live import live_progress

    return live_progress(quiet)


def _note(line: str) -> None:
    click.echo(f"note: {line}", err=True)


def open_campaign(workspace: Path, name: str | None, say: Callable[[str], None] | None = None):
    from campaign.loop.session import Campaign

    campaign = Campaign.open(workspace, name)
    campaign.notify = _note if say is None else (lambda line: say(f"note: {line}"))
    return campaign


def next_line(result: dict[str, Any]) -> str:
    nxt = result.get("next") or {}
    return f"next: {nxt.get('description', '')}\n  {nxt.get('command', '')}"


def times_text(value) -> str:
    from campaign.measure.humane import times  # 2,777x, never 2.78e+03x

    return "n/a" if value is None else times(value)
