"""The ``campaign`` command line: thin wiring from commands to library calls.

Commands live in per-concern modules and are imported lazily (only the one
being run), so ``campaign status`` starts fast: nothing here may import
numpy, numba, scipy, git or jinja2 at module level.
"""

from __future__ import annotations

import os
import signal
import sys

if os.path.basename(sys.argv[0] or "") == "campaign" and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    # the console script: a SIGTERM while the CLI is still importing exits 143, as every later one does, not -15
    # (`python -m campaign` does the same in __main__; a library importing campaign.cli keeps its own handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(143))

import importlib

import click

from campaign.cli.common import CampaignError, run_with_contract  # noqa: F401 (re-exported)

# command name -> "module:function"; each module registers nothing on import
COMMANDS: dict[str, str] = {
    # the loop (step by step)
    "init": "campaign.cli.setup_cmds:init",
    "status": "campaign.cli.status_cmds:status",
    "profile": "campaign.cli.plan_cmds:profile",
    "think": "campaign.cli.plan_cmds:think",
    "plan": "campaign.cli.plan_cmds:plan",
    "try": "campaign.cli.try_cmds:try_",
    "log": "campaign.cli.try_cmds:log",
    "decide": "campaign.cli.decide_cmds:decide",
    "skip": "campaign.cli.decide_cmds:skip",
    "finish": "campaign.cli.decide_cmds:finish",
    "render": "campaign.cli.status_cmds:render",
    "export-record": "campaign.cli.record_cmds:export_record",
    "targets": "campaign.cli.setup_cmds:targets",
    # measurement
    "compare": "campaign.cli.measure_cmds:compare",
    "noise": "campaign.cli.gate_cmds:noise",
    # autonomous runs and records
    "run": "campaign.cli.run_cmds:run",
    "demo": "campaign.cli.run_cmds:demo",
    "replay": "campaign.cli.run_cmds:replay",
    "finalize": "campaign.cli.finalize_cmds:finalize",
    # review
    "review": "campaign.cli.review_cmds:review",
    "report": "campaign.cli.review_cmds:report",
    # tuning
    "tune": "campaign.cli.tune_cmds:tune",
    # agents that drive the loop themselves
    "mcp": "campaign.cli.mcp_cmds:mcp",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        module_name, attr = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # a command whose module is not built yet is simply absent
            raise
        return getattr(module, attr, None)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Every outcome follows the exit-code contract (``run_with_contract``), parser errors included."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        run_with_contract(lambda: super(LazyGroup, self).main(args, prog_name, complete_var, standalone_mode=False,
                                                              **extra), as_json="--json" in argv)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="campaign")
def cli() -> None:
    """Run a disciplined performance-optimization campaign.

    The loop: PROFILE -> THINK -> PLAN -> IMPLEMENT -> TEST -> BENCHMARK ->
    LOG -> COMMIT -> DECIDE. `campaign status` always says which step is due
    and the exact command for it.
    """


def main() -> None:
    """The console entry point (``campaign``, ``python -m campaign``): the process is ``campaign`` itself.

    Only here does the process become the child subreaper of its runs
    (``campaign.measure.procs.become_subreaper``) and handle SIGTERM as
    Ctrl-C (``campaign.cli.common.handle_sigterm``): a program that imports
    the library or invokes ``cli`` in-process keeps its own process settings.
    """
    from campaign.cli.common import handle_sigterm
    from campaign.measure.procs import become_subreaper

    become_subreaper()
    handle_sigterm()
    cli.main(prog_name="campaign")
