"""``campaign mcp``: the loop's steps as MCP tools, for an agent that drives the campaign itself.

The tools call the same ``campaign.loop.session.Campaign`` methods as the CLI,
so the same rules hold: a tool called out of order is not an exception but a
structured answer (``ok`` false, ``code`` ``step_out_of_order``, the step that
is ``due`` and the ``call`` to make -- tool name and arguments). Every answer is
the CLI's ``--json`` object (``campaign.errors``: ``ok``, ``code``, ``message``,
``schema_version``), as structured content and as its JSON text. The logs and
the journal are resources. Transport: stdio (the SDK diverts fd 1 to stderr
while serving, so a workload's stray output cannot corrupt the protocol).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Annotated, Any, Callable

from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from campaign.contract import SCHEMA_VERSION, error_payload
from campaign.errors import RecordReadError, UserError, as_user_error

log = logging.getLogger("campaign.mcp")

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
    "think": {"hypothesis": "<what limits performance, and why>",
              "options": ["<approach A: pros/cons>", "<approach B: pros/cons>"],
              "chosen": "<the approach you pick, and why>", "predict": "<expected whole-run speedup, e.g. 1.5>",
              "risk": "<what could go wrong>"},
    "plan": {"phase": "<a phase the latest profile measured>", "change": "<what you will change>",
             "bottleneck": "<what the profile showed>"},
    "try": {},
    "log": {"surprise": "<what surprised you, or None>"},
    "decide": {},
    "finish": {},
    "status": {},
}

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


class LoopTools:
    """The tools' logic without the transport: open the campaign, run one step, answer in the contract's shape.

    One call at a time (the SDK runs sync tools in worker threads; the campaign's own lock would refuse a
    second concurrent step anyway, this keeps it from being a visible error).
    """

    def __init__(self, workspace: Path | str = ".", name: str | None = None):
        self.workspace = Path(workspace)
        self.name = name
        self._one_at_a_time = threading.Lock()

    def campaign(self):
        from campaign.loop.session import Campaign

        return Campaign.open(self.workspace, self.name)

    def call(self, action: Callable[[Any, Callable[[str], None]], dict[str, Any]],
             open_campaign: bool = True) -> dict[str, Any]:
        """Run ``action(campaign, progress)``; any outcome becomes one contract object (never a trace)."""
        progress: list[str] = []

        def say(line: str) -> None:
            progress.append(line)
            log.info("%s", line)

        with self._one_at_a_time:
            try:
                result = action(self.campaign() if open_campaign else None, say)
                payload = self._success(result)
            except Exception as exc:  # every outcome answers in the contract's shape
                user_error = as_user_error(exc)
                if user_error is not None:
                    payload = user_error.payload()
                else:
                    log.exception("campaign tool failed")
                    payload = error_payload(
                        "internal_error", f"internal error: {type(exc).__name__}: {exc}. This is a bug in campaign "
                        f"(traceback on the server's stderr); the journal is append-only: `status` shows where the "
                        f"campaign stands.")
        if progress:
            payload["progress"] = progress
        return with_tool_hints(payload)

    @staticmethod
    def _success(result: dict[str, Any]) -> dict[str, Any]:
        if result.get("ok", True):
            return {**result, "ok": True, "schema_version": SCHEMA_VERSION}
        if result.get("step") == "try":  # TEST failed: the step ran, the change is broken
            return error_payload("test_failed", "TEST failed: the change will be reverted at LOG (its diff is kept "
                                 "in patches/). Call `log` with the Surprise.", **result)
        if "findings" in result:
            return error_payload("review_findings", f"the record breaks the method's rules: "
                                 f"{len(result['findings'])} finding(s)", **result)
        return error_payload("user_error", str(result.get("message") or "the step failed"), **result)

    # -- the steps -----------------------------------------------------------------------------

    def init(self, target: str | None, name: str | None, goal_speedup: float | str, max_iterations: int,
             resume: bool) -> dict[str, Any]:
        """INIT (no campaign to open yet): the CLI's `campaign init`, answering the new campaign's status."""
        from campaign.loop.session import init_campaign, resume_init

        def action(_, say):
            if resume:
                started = resume_init(self.workspace, name or self.name, say)
            else:
                if not target:
                    raise UserError("name the target: a built-in target's name, 'module:Class', or campaign.toml.")
                started = init_campaign(self.workspace, target, name or self.name, goal_speedup, max_iterations, say)
            return {**started.status(), "step_done": "init"}

        return self.call(action, open_campaign=False)

    def status(self) -> dict[str, Any]:
        return self.call(lambda c, say: c.status())

    def profile(self, lines: list[str]) -> dict[str, Any]:
        return self.call(lambda c, say: c.profile(list(lines or [])))

    def think(self, hypothesis: str, options: list[str], chosen: str, predict: float | str, risk: str) -> dict[str, Any]:
        return self.call(lambda c, say: c.think(hypothesis, list(options or []), chosen, predict, risk))

    def plan(self, phase: str | None, change: str, bottleneck: str | None, override_amdahl: str | None,
             function: str | None = None) -> dict[str, Any]:
        return self.call(lambda c, say: c.plan(phase, change, bottleneck, override_amdahl, function))

    def try_(self, full: bool, more: bool = False, blocks: int | None = None) -> dict[str, Any]:
        if more:
            return self.call(lambda c, say: c.try_more(blocks=blocks, progress=say))
        return self.call(lambda c, say: c.try_change(full=full, progress=say, agent="mcp"))

    def log(self, surprise: str | None, notes: str | None, why: str | None, lesson: str | None,
            keep: str | None, accept_memory: str | None = None) -> dict[str, Any]:
        return self.call(lambda c, say: c.log(surprise, notes, why, lesson, keep, accept_memory))

    def decide(self, exhausted: bool, why: str | None, phase: str | None) -> dict[str, Any]:
        return self.call(lambda c, say: c.decide(exhausted, why, phase))

    def skip(self, why: str) -> dict[str, Any]:
        return self.call(lambda c, say: c.skip(why))

    def finish(self) -> dict[str, Any]:
        return self.call(lambda c, say: c.finish(progress=say))

    def review(self) -> dict[str, Any]:
        def action(c, say):
            from campaign.review.lint import RecordError
            from campaign.review.report import collect

            try:
                result = collect(c.record_dir)
            except RecordError as exc:
                raise RecordReadError(str(exc)) from None
            result.pop("logs", None)  # the logs are resources; the answer stays small
            return result

        return self.call(action)

    # -- resources -----------------------------------------------------------------------------

    def read_record_file(self, filename: str) -> str:
        """A file of the record, as text; a missing campaign or file is a one-line error."""
        from mcp.server.mcpserver.exceptions import ResourceError

        try:
            path = self.campaign().record_dir / filename
        except UserError as exc:
            raise ResourceError(exc.message) from None
        if not path.exists():
            raise ResourceError(f"{path} does not exist yet (it is written as the campaign advances)")
        return path.read_text(encoding="utf-8")


def answer(payload: dict[str, Any]) -> CallToolResult:
    """A contract object as a tool result: structured content, the same JSON as text, ``isError`` unless ok."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str)
    structured = json.loads(text)  # plain JSON types only
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured,
                          is_error=not payload.get("ok", False))


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
        async def call_tool(self, tool_name, arguments, context=None):
            try:
                return await super().call_tool(tool_name, arguments, context)
            except ToolError as exc:  # bad arguments or an unknown tool: still one contract object
                if isinstance(exc, UnexpectedToolError):
                    raise
                return answer(arguments_problem(tool_name, exc))

    tools = LoopTools(workspace, name)
    server = CampaignServer("campaign", instructions=INSTRUCTIONS)

    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False)

    @server.tool(name="init", description="Start a campaign on a clean git repository: check the workload, tag "
                 "the pre-optimization commit, branch, record the baseline, write AGENTS.md and SKILL.md, commit. "
                 "resume=true completes an interrupted init.")
    def init(
        target: Annotated[str | None, Field(
            description="What to optimize: a built-in target's name, 'module:Class', or campaign.toml.")] = None,
        name: Annotated[str | None, Field(description="Campaign name (default: the target's name).")] = None,
        goal_speedup: Annotated[float | str, Field(
            description="Stop when the cumulative speedup reaches this, e.g. 3.")] = 2.0,
        max_iterations: Annotated[int, Field(description="Iteration cap.", ge=1)] = 15,
        resume: Annotated[bool, Field(description="Complete an interrupted init.")] = False,
    ) -> CallToolResult:
        return answer(tools.init(target, name, goal_speedup, max_iterations, resume))

    @server.tool(name="status", annotations=read_only,
                 description="Where the campaign stands and the step due next (`next.tool`). Reads the journal only.")
    def status() -> CallToolResult:
        return answer(tools.status())

    @server.tool(name="profile", description="PROFILE: phase times, their shares and Amdahl bounds, top functions "
                 "(cProfile); with `lines`, line timings of named functions.")
    def profile(lines: Annotated[list[str], Field(
            description="Functions to line-profile, as 'module:function'.")] = []) -> CallToolResult:  # noqa: B006
        return answer(tools.profile(lines))

    @server.tool(name="think", description="THINK: pre-register the iteration before touching code. A numeric "
                 "predicted whole-run speedup is required.")
    def think(
        hypothesis: Annotated[str, Field(description="What limits performance, and why (from the profile).")],
        options: Annotated[list[str], Field(description="The approaches considered, with pros/cons (2-3).")],
        chosen: Annotated[str, Field(description="The approach you pick, and why.")],
        predict: Annotated[float | str, Field(description="Predicted whole-run speedup, a number such as 1.5.")],
        risk: Annotated[str, Field(description="What could go wrong or invalidate the approach.")],
    ) -> CallToolResult:
        return answer(tools.think(hypothesis, options, chosen, predict, risk))

    @server.tool(name="plan", description="PLAN: the profiled phase the change attacks and the change. Then "
                 "IMPLEMENT: edit files in the target's scope (`scope` in the answer) and call `try`.")
    def plan(
        phase: Annotated[str | None, Field(description="A phase the latest profile measured (several: 'a+b').")],
        change: Annotated[str, Field(description="What you will change (the iteration's title).")],
        bottleneck: Annotated[str | None, Field(description="What the profile showed (function, line, cause).")] = None,
        override_amdahl: Annotated[str | None, Field(
            description="A reason to plan a phase under 5% of the runtime anyway (logged).")] = None,
        function: Annotated[str | None, Field(
            description="Instead of (or beside) a phase: a profiled function (pkg.mod:func); its cumulative share "
                        "bounds the speedup.")] = None,
    ) -> CallToolResult:
        return answer(tools.plan(phase, change, bottleneck, override_amdahl, function))

    @server.tool(name="try", description="IMPLEMENT + TEST + BENCHMARK the working-tree change: captures the "
                 "diff, refuses edits outside the scope, checks outputs against the baseline, benchmarks. "
                 "TEST failing answers ok=false, code=test_failed; then call `log`.")
    def try_(full: Annotated[bool, Field(
            description="Also TEST and BENCHMARK the full-scale case.")] = False,
             more: Annotated[bool, Field(
            description="Instead: more blocks for this attempt's inconclusive benchmark, pooled with its "
                        "blocks (while LOG is due; at most twice per attempt).")] = False,
             blocks: Annotated[int | None, Field(
            description="With more: how many blocks (default: what the benchmark said a decision needs).")] = None,
             ) -> CallToolResult:
        return answer(tools.try_(full, more, blocks))

    @server.tool(name="log", description="LOG, then COMMIT (kept) or REVERT. The Surprise is mandatory ('None' "
                 "if nothing surprised you); a postmortem (why, lesson) when the result misses the prediction "
                 "by more than 1.5x. With no arguments after an interrupted LOG, completes its commit/revert.")
    def log_(
        surprise: Annotated[str | None, Field(description="What surprised you; 'None' if nothing.")] = None,
        notes: Annotated[str | None, Field(description="Observations, what to try next.")] = None,
        why: Annotated[str | None, Field(description="Postmortem: why the result diverged.")] = None,
        lesson: Annotated[str | None, Field(description="Postmortem: what this teaches about the code.")] = None,
        keep: Annotated[str | None, Field(
            description="A reason to keep a change the benchmark calls 'same' or 'inconclusive'.")] = None,
        accept_memory: Annotated[str | None, Field(
            description="A reason to keep a change whose peak memory rises beyond the memory limit (default "
                        "+25%); without it such a change is reverted.")] = None,
    ) -> CallToolResult:
        return answer(tools.log(surprise, notes, why, lesson, keep, accept_memory))

    @server.tool(name="decide", description="DECIDE: apply the stopping rules (goal reached, 3 iterations under "
                 "5%, iteration cap, bottleneck exhausted). Between iterations, exhausted=true with `why` declares "
                 "a phase you have no idea left for.")
    def decide(
        exhausted: Annotated[bool, Field(description="Declare the current bottleneck exhausted (needs why).")] = False,
        why: Annotated[str | None, Field(description="Why the bottleneck is exhausted.")] = None,
        phase: Annotated[str | None, Field(description="Between iterations: the exhausted phase.")] = None,
    ) -> CallToolResult:
        return answer(tools.decide(exhausted, why, phase))

    @server.tool(name="skip", description="Skip the current bottleneck after 3 failed attempts on it.")
    def skip(why: Annotated[str, Field(description="Why you are stuck on this bottleneck.")]) -> CallToolResult:
        return answer(tools.skip(why))

    @server.tool(name="finish", description="FINISH: full case vs the pre-optimization tag, post-optimization tag, "
                 "merge back into the start branch.")
    def finish() -> CallToolResult:
        return answer(tools.finish())

    @server.tool(name="review", annotations=read_only, description="Check the record against the method's rules: "
                 "findings, prediction calibration, code cost. Findings answer ok=false, code=review_findings.")
    def review() -> CallToolResult:
        return answer(tools.review())

    for uri, (filename, description) in RESOURCES.items():
        mime = "application/jsonl" if filename.endswith(".jsonl") else "text/markdown"
        server.resource(uri, name=filename, description=description, mime_type=mime)(_reader(tools, filename))
    server.loop_tools = tools  # campaign.agents.mcp_signals waits for the tool in flight on it
    return server


def _reader(tools: LoopTools, filename: str) -> Callable[[], str]:
    def read() -> str:
        return tools.read_record_file(filename)

    return read
