"""``campaign mcp``: the loop's steps as MCP tools, for an agent that drives the campaign itself.

The tools call the same ``campaign.loop.session.Campaign`` methods as the CLI,
so the same rules hold: a tool called out of order is not an exception but a
structured answer (``ok`` false, ``code`` ``step_out_of_order``, the step that
is ``due`` and the ``call`` to make -- tool name and arguments). Every answer is
the CLI's ``--json`` object (``campaign.errors``: ``ok``, ``code``, ``message``,
``schema_version``), as structured content and as its JSON text. The logs and
the journal are resources. Transport: stdio (the SDK diverts fd 1 to stderr
while serving, so a workload's stray output cannot corrupt the protocol).

The parts: ``mcp_loop_tools`` (the steps, transport aside), ``mcp_tool_specs``
(the tools' names, descriptions and input schemas), ``mcp_hints`` (the tool
and call each answer's ``next`` names); this module builds the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from campaign.agents.mcp_hints import with_tool_hints
from campaign.agents.mcp_loop_tools import LoopTools
from campaign.agents.mcp_tool_specs import answer, register_tools
from campaign.contract import error_payload

INSTRUCTIONS = """\
This server runs a disciplined performance-optimization campaign on one repository:
PROFILE -> THINK -> PLAN -> IMPLEMENT -> TEST -> BENCHMARK -> LOG -> COMMIT -> DECIDE.
Call `status` first; every answer's `next` names the step due and the `tool` to call
(no campaign yet: `init` with the target, e.g. campaign.toml).
IMPLEMENT is yours: edit files inside the target's scope, then call `try` (TEST + BENCHMARK).
A tool called out of order answers ok=false, code=step_out_of_order, with the `call` to make.
Read the logs as resources (campaign://record/...). Never edit optim/ by hand."""

RESOURCES = {  # uri -> (file in the record, description)
    "campaign://record/optimization_log.md": ("optimization_log.md", "One entry per iteration: plan, result, verdict."),
    "campaign://record/thinking_log.md": ("thinking_log.md", "Pre-registrations (THINK), Surprises and postmortems."),
    "campaign://record/summary.md": ("summary.md", "The campaign at a glance: speedups, kept changes, stop rule."),
    "campaign://record/journal.jsonl": ("journal.jsonl", "Every event, one JSON object a line (the source of truth)."),
}


def arguments_problem(tool: str, exc: Exception) -> dict[str, Any]:
    """Arguments the tool's input schema rejects (or an unknown tool): the MCP form of a parser error."""
    cause = exc.__cause__
    if cause is not None and hasattr(cause, "errors"):  # pydantic's ValidationError: one line per field
        details = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in cause.errors())
        message = f"invalid arguments for `{tool}`: {details}. The tool's input schema lists what it takes."
    else:
        message = str(exc)
    return with_tool_hints(error_payload("usage_error", message, tool=tool))


def build_server(workspace: Path | str = ".", name: str | None = None):
    """The MCP server (the SDK's ``MCPServer``) over the campaign in ``workspace``; ``run()`` serves stdio."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError

    class CampaignServer(MCPServer):
        loop_tools: LoopTools | None = None  # campaign.agents.mcp_signals waits for the tool in flight on it

        async def call_tool(self, tool_name, arguments, context=None):
            try:
                return await super().call_tool(tool_name, arguments, context)
            except ToolError as exc:  # bad arguments or an unknown tool: still one contract object
                if isinstance(exc, UnexpectedToolError):
                    raise
                return answer(arguments_problem(tool_name, exc))

    tools = LoopTools(workspace, name)
    server = CampaignServer("campaign", instructions=INSTRUCTIONS)

    register_tools(server, tools)
    for uri, (filename, description) in RESOURCES.items():
        mime = "application/jsonl" if filename.endswith(".jsonl") else "text/markdown"
        server.resource(uri, name=filename, description=description, mime_type=mime)(_reader(tools, filename))
    server.loop_tools = tools
    return server


def _reader(tools: LoopTools, filename: str) -> Callable[[], str]:
    def read() -> str:
        return tools.read_record_file(filename)

    return read
