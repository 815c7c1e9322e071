"""The MCP tools' names, descriptions and input schemas, registered on the server one group of steps at a time.

Each tool is a thin function over ``LoopTools`` whose annotated parameters are
its input schema (the SDK builds the JSON Schema from them); ``answer`` turns
the contract object into the tool result. The order of registration is the
order ``tools/list`` shows.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from campaign.agents.mcp_loop_tools import LoopTools
from campaign.loop.step_fields import PLAN, THINK

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False)


def answer(payload: dict[str, Any]) -> CallToolResult:
    """A contract object as a tool result: structured content, the same JSON as text, ``isError`` unless ok."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str)
    structured = json.loads(text)  # plain JSON types only
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured,
                          is_error=not payload.get("ok", False))


def register_tools(server: Any, tools: LoopTools) -> None:
    """Every step's tool, in the loop's order."""
    for register in (register_start_tools, register_planning_tools, register_change_tools, register_closing_tools):
        register(server, tools)


def register_start_tools(server: Any, tools: LoopTools) -> None:
    """``init`` and ``status``: start a campaign, and where it stands."""
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

    @server.tool(name="status", annotations=READ_ONLY,
                 description="Where the campaign stands and the step due next (`next.tool`). Reads the journal only.")
    def status() -> CallToolResult:
        return answer(tools.status())


def register_planning_tools(server: Any, tools: LoopTools) -> None:
    """``profile``, ``think`` and ``plan``: before the code changes."""
    @server.tool(name="profile", description="PROFILE: phase times, their shares and Amdahl bounds, top functions "
                 "(cProfile); with `lines`, line timings of named functions.")
    def profile(lines: Annotated[list[str], Field(
            description="Functions to line-profile, as 'module:function'.")] = []) -> CallToolResult:  # noqa: B006
        return answer(tools.profile(lines))

    @server.tool(name="think", description="THINK: pre-register the iteration before touching code. A numeric "
                 "predicted whole-run speedup is required.")
    def think(
        hypothesis: Annotated[str, Field(description=THINK["hypothesis"].help)],
        options: Annotated[list[str], Field(description=THINK["options"].help)],
        chosen: Annotated[str, Field(description=THINK["chosen"].help)],
        predict: Annotated[float | str, Field(description=THINK["predict"].help)],
        risk: Annotated[str, Field(description=THINK["risk"].help)],
    ) -> CallToolResult:
        return answer(tools.think(hypothesis, options, chosen, predict, risk))

    @server.tool(name="plan", description="PLAN: the profiled phase the change attacks and the change. Then "
                 "IMPLEMENT: edit files in the target's scope (`scope` in the answer) and call `try`.")
    def plan(
        phase: Annotated[str | None, Field(description=PLAN["phase"].help)],
        change: Annotated[str, Field(description=PLAN["change"].help)],
        bottleneck: Annotated[str | None, Field(description=PLAN["bottleneck"].help)] = None,
        override_amdahl: Annotated[str | None, Field(
            description="A reason to plan a phase under 5% of the runtime anyway (logged).")] = None,
        function: Annotated[str | None, Field(
            description="Instead of (or beside) a phase: a profiled function (pkg.mod:func); its cumulative share "
                        "bounds the speedup.")] = None,
    ) -> CallToolResult:
        return answer(tools.plan(phase, change, bottleneck, override_amdahl, function))


def register_change_tools(server: Any, tools: LoopTools) -> None:
    """``try`` and ``log``: the change measured, then kept or reverted."""
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


def register_closing_tools(server: Any, tools: LoopTools) -> None:
    """``decide``, ``skip``, ``finish`` and ``review``: the stopping rules, the end, the record checked."""
    @server.tool(name="decide", description="DECIDE: apply the stopping rules (goal reached, 3 iterations under "
                 "5%, iteration cap, bottleneck exhausted). Between iterations, exhausted=true with `why` declares "
                 "a phase you have no idea left for. stop=true with `why` ends the campaign for a reason of yours "
                 "(out of time, the goal changed); then finish.")
    def decide(
        exhausted: Annotated[bool, Field(description="Declare the current bottleneck exhausted (needs why).")] = False,
        why: Annotated[str | None, Field(description="Why the bottleneck is exhausted, or why you stop.")] = None,
        phase: Annotated[str | None, Field(description="Between iterations: the exhausted phase.")] = None,
        stop: Annotated[bool, Field(description="End the campaign for a reason of yours (needs why), as "
                                                "`campaign decide --stop` does.")] = False,
    ) -> CallToolResult:
        return answer(tools.decide(exhausted, why, phase, stop))

    @server.tool(name="skip", description="Skip the current bottleneck after 3 failed attempts on it.")
    def skip(why: Annotated[str, Field(description="Why you are stuck on this bottleneck.")]) -> CallToolResult:
        return answer(tools.skip(why))

    @server.tool(name="finish", description="FINISH: full case vs the pre-optimization tag, post-optimization tag, "
                 "merge back into the start branch.")
    def finish() -> CallToolResult:
        return answer(tools.finish())

    @server.tool(name="review", annotations=READ_ONLY, description="Check the record against the method's rules: "
                 "findings, prediction calibration, code cost. Findings answer ok=false, code=review_findings.")
    def review() -> CallToolResult:
        return answer(tools.review())
