"""What every step works on: one campaign's record, journal, lock, target and repository.

``CampaignContext`` is the plumbing the nine steps share (the step modules
are functions over it; ``campaign.loop.session.Campaign`` adds the step
methods on top). The steps use its public methods only: writing goes through ``record_event``
(append the event, then re-render the logs); a step runs inside ``step`` (hold
the lock, finish an interrupted commit/revert, check the step is due:
``StepError`` otherwise); ``next_step``, ``measure``, ``require_branch``,
``complete_pending``, ``locked`` and ``render_files`` are the rest.

Heavy modules (GitPython, Jinja2, the measurement layer) are imported inside
the methods that need them: ``status()`` reads the journal only.
"""

from __future__ import annotations

import math
import os
import shlex
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator

from campaign.errors import MeasureError, NoCampaignError, RuleError, VcsError
from campaign.loop import machine
from campaign.loop import record_guard
from campaign.loop.journal import CampaignLock
from campaign.loop.record_place import RECORD_ROOT, RECORD_ROOTS, choose_record_root, existing_root
from campaign.loop.record_place import list_campaigns as _recorded_campaigns

__all__ = ["RECORD_ROOT", "RECORD_ROOTS", "CampaignContext", "Progress", "list_campaigns", "record_root",
           "env_number", "required_text", "jsonable_bound"]

Progress = Callable[[str], None] | None
_swept = False  # CampaignContext._sweep_leftovers ran in this process


def env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def required_text(value: str | None, flag: str, why: str) -> str:
    if value is None or not str(value).strip():
        raise RuleError(f"{flag} is required and may not be empty: {why}")
    return str(value).strip()


def jsonable_bound(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def record_root(workspace: Path) -> Path:
    """The folder a new campaign's record goes under (``loop/record_place.py``: optim/ or optim-records/)."""
    return Path(workspace) / choose_record_root(Path(workspace))


def list_campaigns(workspace: Path) -> list[str]:
    """Campaigns in ``workspace``: a journal under optim/ (or optim-records/), or only its protected copy (record lost)."""
    return sorted(set(_recorded_campaigns(Path(workspace))) | set(record_guard.protected_names(Path(workspace))))


class CampaignContext:
    """An existing campaign: ``optim/<name>/`` in a workspace (a git repository).

    A new campaign's record goes where ``record_place.choose_record_root`` says
    (``optim-records/<name>/`` in a setuptools flat-layout project).
    """

    def __init__(self, workspace: Path, name: str):
        self.workspace = Path(workspace).resolve()
        self.name = name
        found = existing_root(self.workspace, name)
        root = found or choose_record_root(self.workspace)
        self.record_rel = f"{root}/{name}"
        self.record_dir = self.workspace / root / name
        if found is None:  # a finished campaign's record left the tree with FINISH's merge: read it from git
            from campaign.loop.record_store import readable_copy

            self.record_dir = readable_copy(self.workspace, name, finished_only=True) or self.record_dir
        self.journal = record_guard.campaign_journal(self.workspace, name, self.record_dir)
        self.driver_folder = record_guard.copy_dir(self.workspace, name) or self.record_dir  # campaign run's lease
        self.lock = CampaignLock(self.driver_folder)  # in the git folder: no lock file in the tree, nor in an sdist
        self.notify: Callable[[str], None] = lambda line: None  # what a command says besides its result
        self._target = None
        self._repo = None

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, workspace: Path | str = ".", name: str | None = None):
        workspace = Path(workspace)
        names = list_campaigns(workspace)
        if name is None:
            if not names:
                raise NoCampaignError(
                    f"no campaign in {workspace.resolve()} (nothing under {' or '.join(r + '/' for r in RECORD_ROOTS)}). Start one with "
                    f"`campaign init --target SPEC` (see `campaign targets`), or pass --dir for another workspace."
                )
            if len(names) > 1:
                raise NoCampaignError(
                    f"{workspace.resolve()} holds several campaigns ({', '.join(names)}); name one with --name."
                )
            name = names[0]
        elif name not in names:
            raise NoCampaignError(
                f"no campaign named {name!r} in {workspace.resolve()} (found: {', '.join(names) or 'none'}). "
                f"Start it with `campaign init --target SPEC --name {name}`."
            )
        return cls(workspace, name)

    # -- derived state -------------------------------------------------------------

    def state(self) -> machine.State:
        return machine.derive(self.journal.read_protected().events)

    @property
    def cli_extra(self) -> str:
        """``--dir`` to add to suggested commands when the workspace is not the current directory."""
        try:
            here = Path.cwd().resolve()
        except OSError:
            here = None
        return "" if here == self.workspace else f"--dir {shlex.quote(str(self.workspace))}"

    def command_for(self, state: machine.State) -> str:
        return machine.expected_command(state.step, state, self.cli_extra)

    def next_step(self, state: machine.State | None = None) -> dict[str, str]:
        """The step due, its description and the exact command to run it."""
        state = state or self.state()
        return {"step": state.step.value, "description": machine.DESCRIPTIONS[state.step], "command": self.command_for(state)}

    @property
    def target(self):
        if self._target is None:
            from campaign.plugins.loading import load_target

            init = self.state().init
            spec = init.target_spec if init else None
            self._target = load_target(spec, self.workspace)  # a TargetError is a UserError (target_error)
        return self._target

    @target.setter
    def target(self, target) -> None:
        """The target already loaded (``init`` has it before the journal names it)."""
        self._target = target

    @property
    def repo(self):
        if self._repo is None:
            from campaign import vcs

            self._repo = vcs.open_repo(self.workspace)
        return self._repo

    # -- writing -------------------------------------------------------------------

    def record_event(self, type_: str, data: dict[str, Any], iteration: int | None = None) -> dict[str, Any]:
        """Append one event to the journal (checked against its protected copy), then re-render the logs."""
        self.guard_record()
        event = self.journal.append(type_, data, iteration)
        self.render_files()
        return event

    def render_files(self) -> list[str]:
        from campaign.loop.render import write_all

        return write_all(self.record_dir, self.journal.events())

    def refuse_if_driven(self) -> None:
        """While a ``campaign run`` in another process drives this campaign, nothing else writes (``machine.driver``)."""
        from campaign.loop.driver import refuse_if_driven

        refuse_if_driven(self.driver_folder, self.name)

    def guard_record(self) -> None:
        """Check the journal against its protected copy (restore it, or refuse); takes the lock."""
        self.refuse_if_driven()
        with self.lock:
            record_guard.guard_journal(self.journal, lambda: self.repo, self.record_rel, self.notify)

    @contextmanager
    def locked(self, guard_git: bool = False) -> Iterator[None]:
        """Hold the lock with the journal checked against its protected copy (``guard_git``: and git, first).

        Refused at once while a ``campaign run`` drives the campaign from another process.
        """
        from campaign.loop import git_guard

        self.refuse_if_driven()
        with self.lock, (git_guard.between_steps(self) if guard_git else nullcontext()):
            self.guard_record()
            self._sweep_leftovers()
            yield

    def _sweep_leftovers(self) -> None:
        """What a ``kill -9``'d command left: its ``campaign-wt-*`` worktrees and its children (once per process)."""
        from campaign.measure.procs import scope_to, sweep_orphans_once

        scope_to(self.workspace)  # a sealed run's copy lies outside the repository: its children are still ours
        global _swept
        if _swept:
            return
        _swept = True
        from campaign.measure.worktrees import remove_stale

        try:
            remove_stale(self.repo)
        except Exception:  # noqa: BLE001 - a sweep never stops a command
            pass
        sweep_orphans_once(self.workspace)

    @contextmanager
    def step(self, command: str) -> Iterator[machine.State]:
        """Hold the lock (journal checked), finish an interrupted commit/revert, check ``command`` may run now."""
        with self.locked(guard_git=True):
            state = self.complete_pending(self.state())
            machine.check_command(command, state, self.cli_extra)
            yield state

    def complete_pending(self, state: machine.State) -> machine.State:
        """Finish a LOG whose commit or revert was interrupted (idempotent; see ``steps/commit.py``)."""
        from campaign.loop.steps.commit import complete_pending

        return complete_pending(self, state)

    def measure(self, func: Callable[[], Any]) -> Any:
        """Run a measurement; a failing workload, baseline or worktree becomes a one-paragraph MeasureError."""
        from campaign.measure.baseline import BaselineError
        from campaign.measure.workload import WorkloadError
        from campaign.measure.worktrees import WorktreeError

        try:
            return func()
        except (WorkloadError, BaselineError, WorktreeError) as exc:
            raise MeasureError(" ".join(str(exc).split())) from None

    def require_branch(self, state: machine.State) -> None:
        """Commits, reverts and measurements happen on the campaign branch only."""
        branch = state.init.branch if state.init else None
        repo = self.repo
        current = None if repo.head.is_detached else repo.active_branch.name
        if branch and current != branch:
            raise VcsError(
                f"the repository is on {current or 'a detached HEAD'}, not on the campaign branch {branch}. "
                f"Switch back (`git switch {branch}`) and run the command again; nothing was changed."
            )
