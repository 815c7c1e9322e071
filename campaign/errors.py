"""The errors a campaign raises for user mistakes (never bugs).

Every class here carries one paragraph that says what went wrong and what to
do. The library (``campaign.loop.session``, the steps in ``campaign.loop.steps``)
raises them; the CLI turns them into ``campaign.cli.common.CampaignError``
(printed, no traceback) with the ``exit_code`` given here.

Every class has a stable error ``code`` (a string a program can switch on)
and an ``exit_code`` from ``campaign.contract.ExitCode``: the machine contract
that the CLI's ``--json`` and the MCP server share.
"""

from __future__ import annotations

import errno
from typing import Any

from campaign.contract import ExitCode, error_payload

STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
STORAGE_ADVICE = {
    errno.ENOSPC: "The disk is full. ", errno.EDQUOT: "The disk quota is used up. ",
    errno.EROFS: "The file system is read-only (the record must be writable). ",
    errno.EACCES: "Permission denied (the record and the repository must be writable by you). ",
    errno.EPERM: "The operation is not permitted. ",
}


class UserError(Exception):
    """A user-facing error: one paragraph, a non-zero exit code, no traceback."""

    exit_code = ExitCode.USER_ERROR
    code = "user_error"

    def __init__(self, message: str, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.data = data or {}

    def payload(self) -> dict[str, Any]:
        return error_payload(self.code, self.message, **self.data)


class StepError(UserError):
    """A command for a step that may not come next; names the step due and its command."""

    exit_code = ExitCode.STEP_OUT_OF_ORDER
    code = "step_out_of_order"

    def __init__(self, message: str, due: str, command: str):
        super().__init__(message, {"due": due, "command": command})
        self.due = due
        self.command = command


class RuleError(UserError):
    """A rule of the method refused the command (no numeric prediction, no Surprise, Amdahl, ...)."""

    code = "rule_refused"


class JournalError(UserError):
    """The journal cannot be read safely (a corrupt line in the middle, a newer schema)."""

    code = "journal_error"


class LockError(UserError):
    """Another ``campaign`` command holds this campaign's lock."""

    code = "lock_held"


class DrivenError(UserError):
    """A ``campaign run`` drives this campaign: only it writes the record while it runs (``campaign.loop.driver``)."""

    exit_code = ExitCode.DRIVEN
    code = "driven_by_runner"


class VcsError(UserError):
    """The git repository is not in a state the campaign can work with (dirty, detached, ...)."""

    code = "vcs_error"


class GitMovedError(VcsError):
    """Git moved behind the campaign's back: a commit, reset, stash or branch switch that no step made."""

    code = "git_moved"


class StorageError(UserError):
    """The machine refused a write or a read: a full disk, a read-only record, a file campaign may not write."""

    exit_code = ExitCode.IO_ERROR
    code = "io_error"


class NoChangeError(UserError):
    """``try`` with nothing to try: the working tree equals the last kept commit (``campaign run`` records a failed
    IMPLEMENT; by hand, edit first)."""


class MeasureError(UserError):
    """A workload, build or profile run failed (non-zero exit, no JSON, NaN, timeout)."""

    code = "measure_error"


class FullCaseError(UserError):
    """FINISH refused: the final tree's full-case outputs differ from the baseline's (or its tests fail)."""

    exit_code = ExitCode.TEST_FAILED  # a correctness failure, like TEST failing at `try`
    code = "full_case_failed"


class NoCampaignError(UserError):
    """No campaign (or more than one, without ``--name``) under ``optim/``."""

    code = "no_campaign"


class TargetLoadError(UserError):
    """A target that cannot be loaded or does not satisfy the target interface (``campaign.plugins``)."""

    code = "target_error"


class RecordReadError(UserError):
    """A campaign record that cannot be reviewed or replayed (missing, torn or newer-schema journal)."""

    code = "record_error"


def as_user_error(exc: BaseException) -> UserError | None:
    """The user error a library exception stands for, if it is one: a ``UserError`` itself (a target that
    cannot be loaded, ``campaign.plugins.target.TargetError``, is one), a refused write, or git's own failure;
    ``None`` for anything else (a bug).

    Git's error is looked up by name so that this foundation module does not import GitPython.
    """
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        where = f" {exc.filename}" if exc.filename else ""
        return StorageError(
            f"cannot write{where}: {exc.strerror or exc} ({errno.errorcode.get(exc.errno, exc.errno)}). "
            f"{STORAGE_ADVICE.get(exc.errno, '')}The journal is append-only and fsync'd, so what was recorded "
            f"before stands: free the space or fix the permissions, then run `campaign status` to see how to "
            f"continue.")
    if type(exc).__name__ == "GitCommandError":  # GitPython
        detail = " ".join(str(getattr(exc, "stderr", "") or exc).split())
        return VcsError(f"git failed: {detail}. The journal is intact; fix the repository state and run "
                        f"`campaign status` to see how to continue.")
    return None
