"""The snippets that register ``campaign mcp`` with a coding CLI (Claude Code, Codex), from templates.

The server command is this interpreter's absolute path (``sys.executable -m
campaign mcp``), never a bare ``python`` that the client might resolve to an
environment without campaign; the workspace is absolute for the same reason.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

CLIENTS = {  # client -> (template, format, where the snippet goes)
    "claude": ("mcp_claude.json.j2", "json", ".mcp.json in the project root"),
    "codex": ("mcp_codex.toml.j2", "toml", "~/.codex/config.toml (or .codex/config.toml in a trusted project)"),
}
CLAUDE_TOOLS = "mcp__campaign,Read,Edit,Write,Glob,Grep"  # headless `claude -p` denies every tool not listed
RUN_PROMPT = ("Continue the performance-optimization campaign in this repository with the campaign tools: call "
              "status, then the tool its next names, until the campaign is finished.")
TOOL_TIMEOUT_S = 1800  # a step may benchmark for minutes; the CLI's own agent timeout is 1800 s too


def server_command(workspace: Path | str = ".", name: str | None = None) -> list[str]:
    """The argv that starts the server: absolute interpreter, ``-m campaign mcp``, absolute ``--dir``."""
    argv = [sys.executable, "-m", "campaign", "mcp", "--dir", str(Path(workspace).resolve())]
    return argv + (["--name", name] if name else [])


def add_command(client: str, argv: list[str]) -> str:
    """The one-line shell form: ``claude mcp add`` / ``codex mcp add`` (stdio)."""
    verb = "claude mcp add --transport stdio --scope project" if client == "claude" else "codex mcp add"
    return f"{verb} campaign -- {shlex.join(argv)}"


def run_command(client: str) -> str | None:
    """The whole command line that runs the client headless on the campaign once the server is registered.

    ``claude -p`` denies every tool it is not told to allow (``--allowedTools``; ``mcp__campaign`` allows
    all the server's tools); ``--dangerously-skip-permissions`` is no way round it: Claude Code refuses it
    when run as root (exit 1). ``--mcp-config .mcp.json`` loads the registration without the interactive
    approval a project-scope server otherwise waits for.
    """
    if client != "claude":
        return None
    # the prompt comes first: --allowedTools and --mcp-config take several values and would swallow it
    return f"claude -p {shlex.quote(RUN_PROMPT)} --mcp-config .mcp.json --allowedTools {shlex.quote(CLAUDE_TOOLS)}"


def client_config(client: str, workspace: Path | str = ".", name: str | None = None) -> dict[str, Any]:
    """The snippet for ``client`` as text (what to paste) plus what it says, as data."""
    from campaign.loop.render import render_template

    template, fmt, where = CLIENTS[client]
    argv = server_command(workspace, name)
    # JSON strings and arrays of strings are also valid TOML basic strings and arrays
    text = render_template(template, command=json.dumps(argv[0]), args=json.dumps(argv[1:]),
                           tool_timeout_s=TOOL_TIMEOUT_S)
    return {"ok": True, "client": client, "format": fmt, "where": where, "text": text,
            "command": argv[0], "args": argv[1:], "add_command": add_command(client, argv),
            "run_command": run_command(client)}
