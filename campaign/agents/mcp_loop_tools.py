"""The MCP tools' logic without the transport: open the campaign, run one step, answer in the contract's shape.

The tools call the same ``campaign.loop.session.Campaign`` methods as the CLI,
so the same rules hold; every outcome (a user error, a refused order, a bug)
becomes one contract object with the MCP hints (``campaign.agents.mcp_hints``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from campaign.agents.mcp_hints import with_tool_hints
from campaign.contract import SCHEMA_VERSION, error_payload
from campaign.errors import RecordReadError, UserError, as_user_error

log = logging.getLogger("campaign.mcp")


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

    def decide(self, exhausted: bool, why: str | None, phase: str | None, stop: bool = False) -> dict[str, Any]:
        return self.call(lambda c, say: c.decide(exhausted, why, phase, stop))

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
