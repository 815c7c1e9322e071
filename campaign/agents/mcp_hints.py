"""What an MCP answer adds to the CLI's: the tool that performs each step, and the call to make.

Pure: the CLI's suggested command line (``campaign log --surprise '<...>'``)
becomes a tool call (``{"tool": "log", "arguments": {"surprise": "<...>"}}``),
and a message's CLI flags are named as the tools' arguments.
"""

from __future__ import annotations

from typing import Any

from campaign.loop.step_fields import OPTION_PLACEHOLDERS, PLAN, THINK

# the step due (campaign.loop.machine.Step values) -> the tool that performs it
STEP_TOOLS: dict[str, str | None] = {
    "init": "init",  # an interrupted init: `init` with resume=true
    "profile": "profile", "think": "think", "plan": "plan", "try": "try",
    "log": "log", "commit": "log", "revert": "log",  # an interrupted commit/revert: `log` with no arguments
    "decide": "decide", "finish": "finish", "done": "status",
}

# what to fill in, per tool: the MCP form of the CLI's suggested command
ARGUMENT_TEMPLATES: dict[str, dict[str, Any]] = {
    "init": {"resume": True},
    "profile": {},
    "think": {**{f.name: f.placeholder for f in THINK.values()},
              "options": list(OPTION_PLACEHOLDERS)},
    "plan": {f.name: f.placeholder for f in PLAN.values()},
    "try": {},
    "log": {"surprise": "<what surprised you, or None>"},
    "decide": {},
    "finish": {},
    "status": {},
}


# the CLI's flags -> the tools' argument names (list: a repeatable flag; True: a switch)
FLAG_ARGUMENTS: dict[str, tuple[str, Any]] = {
    "--surprise": ("surprise", str), "--notes": ("notes", str), "--why": ("why", str), "--lesson": ("lesson", str),
    "--keep": ("keep", str), "--accept-memory": ("accept_memory", str), "--hypothesis": ("hypothesis", str), "--option": ("options", list),
    "--chosen": ("chosen", str), "--predict": ("predict", str), "--risk": ("risk", str), "--phase": ("phase", str),
    "--change": ("change", str), "--bottleneck": ("bottleneck", str), "--override-amdahl": ("override_amdahl", str),
    "--line": ("lines", list), "--resume": ("resume", True), "--exhausted": ("exhausted", True),
    "--full": ("full", True), "--target": ("target", str), "--name": ("name", str),
}


def command_arguments(command: str) -> dict[str, Any]:
    """The tool arguments a CLI command line names (pure): ``--why '<...>'`` -> ``{"why": "<...>"}``.

    A parenthesised aside (``(add --keep ...)``) is not part of the command; an unquoted placeholder
    (``<expected speedup, e.g. 1.5>``) is one value.
    """
    import shlex

    text = command.split("  (", 1)[0]
    try:
        tokens = shlex.split(text)
    except ValueError:
        return {}
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        flag = FLAG_ARGUMENTS.get(tokens[i])
        i += 1
        if flag is None:
            continue
        name, kind = flag
        if kind is True:
            out[name] = True
            continue
        if i >= len(tokens):
            break
        value, i = tokens[i], i + 1
        while value.startswith("<") and not value.endswith(">") and i < len(tokens):
            value, i = f"{value} {tokens[i]}", i + 1
        if kind is list:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def call_for(step: str, command: str | None = None) -> dict[str, Any] | None:
    """The tool call that performs ``step`` (``None`` for a step no tool performs).

    With the CLI ``command`` the answer suggests, the call carries every argument that command names
    (a postmortem's ``why`` and ``lesson`` too), so making the call as given is not refused again.
    """
    tool = STEP_TOOLS.get(step)
    if tool is None:
        return None
    if step in ("commit", "revert"):  # an interrupted LOG: `log` with no arguments completes it
        return {"tool": tool, "arguments": {}}
    arguments = dict(ARGUMENT_TEMPLATES.get(tool, {}))
    if command:
        arguments.update({k: v for k, v in command_arguments(command).items() if k not in ("name",)})
    return {"tool": tool, "arguments": arguments}


def argument_names(message: str) -> str:
    """A message of the CLI's with its flags named as the tools' arguments (``--surprise`` -> ``surprise``)."""
    import re

    def name(match: re.Match) -> str:
        flag = FLAG_ARGUMENTS.get(match.group(0))
        return f"`{flag[0]}`" if flag else match.group(0)

    return re.sub(r"--[a-z][a-z-]*", name, message)


def with_tool_hints(payload: dict[str, Any]) -> dict[str, Any]:
    """Add the MCP call to the CLI's hints: ``next.tool`` and, when refused for order, ``call``.

    Messages name the tools' arguments, not the CLI's flags; ``command`` stays the CLI's command line.
    """
    nxt = payload.get("next")
    if isinstance(nxt, dict) and nxt.get("step") in STEP_TOOLS:
        payload["next"] = {**nxt, "tool": STEP_TOOLS[nxt["step"]]}
    if payload.get("code") == "step_out_of_order":
        payload["call"] = call_for(payload.get("due", ""), payload.get("command"))
    elif isinstance(payload.get("message"), str):
        payload["message"] = argument_names(payload["message"])
    return payload
