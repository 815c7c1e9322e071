"""The errors a campaign raises for user mistakes (never bugs).

Every class here carries one paragraph that says what went wrong and what to
do. The library (``campaign.loop.session``, the steps in ``campaign.loop.steps``)
raises them; the CLI turns them into ``campaign.cli.common.CampaignError``
(printed, no traceback) with the ``exit_code`` given here.

Exit codes: 1 = a user error (bad input, a failed workload, a refused rule,
a lock held by another command); 2 = this step may not come next (the
message names the step that is due and the exact command for it); 3 = FINISH
found the final code wrong on the full-scale case (nothing was tagged or
merged; the message names the output and what to do).
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A user-facing error: one paragraph, a non-zero exit code, no traceback."""

    exit_code = 1

    def __init__(self, message: str, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.data = data or {}


class StepError(UserError):
    """A command for a step that may not come next; names the step due and its command."""

    exit_code = 2

    def __init__(self, message: str, due: str, command: str):
        super().__init__(message, {"due": due, "command": command})
        self.due = due
        self.command = command


class RuleError(UserError):
    """A rule of the method refused the command (no numeric prediction, no Surprise, Amdahl, ...)."""


class JournalError(UserError):
    """The journal cannot be read safely (a corrupt line in the middle, a newer schema)."""


class LockError(UserError):
    """Another ``campaign`` command holds this campaign's lock."""


class VcsError(UserError):
    """The git repository is not in a state the campaign can work with (dirty, detached, ...)."""


class MeasureError(UserError):
    """A workload, build or profile run failed (non-zero exit, no JSON, NaN, timeout)."""


class FullCaseError(UserError):
    """FINISH refused: the final tree's full-case outputs differ from the baseline's (or its tests fail)."""

    exit_code = 3


class NoCampaignError(UserError):
    """No campaign (or more than one, without ``--name``) under ``optim/``."""
