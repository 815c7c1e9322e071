"""``campaign mcp``: serve the loop as MCP tools over stdio, or print the snippet that registers the server."""

from __future__ import annotations

import click

from campaign.cli.common import dir_option, emit, json_option
from campaign.cli.common import user_errors as _errors


@click.command("mcp")
@click.option("--name", default=None, help="The campaign (optim/<name>/); needed only when there are several.")
@click.option("--print-config", "print_config", type=click.Choice(["claude", "codex"]), default=None,
              help="Print the snippet that registers this server with Claude Code (.mcp.json) or Codex "
                   "(~/.codex/config.toml) instead of serving.")
@dir_option
@json_option
@_errors
def mcp(name, print_config, workspace, as_json):
    """Serve the campaign's steps as MCP tools over stdio (for an agent that drives the loop itself).

    Tools: init, status, profile, think, plan, try, log, decide, skip,
    finish, review; resources: the logs and the journal (campaign://record/...).
    A tool called out of order answers with the step due and the call to make.

    Register it: campaign mcp --print-config claude > .mcp.json (Claude
    Code) or campaign mcp --print-config codex >> ~/.codex/config.toml.
    """
    if print_config:
        from campaign.agents.mcp_config import client_config

        result = client_config(print_config, workspace, name)
        emit(result, as_json, lambda r: r["text"].rstrip("\n"))
        if not as_json:  # stdout stays the bare snippet (redirect it into the file); the rest is a hint
            click.echo(f"# paste into {result['where']}, or run:\n#   {result['add_command']}", err=True)
            if result.get("run_command"):
                click.echo(f"# then run it headless with the campaign's tools allowed (claude -p denies the rest;\n"
                           f"# --dangerously-skip-permissions exits 1 as root):\n#   {result['run_command']}", err=True)
        return
    from campaign.agents.mcp_server import build_server
    from campaign.agents.mcp_signals import serve_stdio

    serve_stdio(build_server(workspace, name))  # exits on SIGTERM (143) / SIGINT (130), and with its parent
