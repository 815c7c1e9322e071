"""The errors a tune raises for user mistakes (exit 1, one paragraph), and how a failure is quoted in one line."""

from __future__ import annotations

from campaign.contract import ExitCode
from campaign.errors import UserError


class TuneError(UserError):
    """A tuning request that cannot run (bad knob, bad storage, broken default): one paragraph."""

    exit_code = ExitCode.USER_ERROR

    def __init__(self, message: str, data: dict | None = None):
        Exception.__init__(self, message)
        self.message = message
        self.data = data or {}


class NotAWorkspaceError(TuneError):
    """The directory holds none of the target's files: a tune there could only measure a crash.

    A user error (exit 1) like any other; ``data`` names the workspace, the
    target and its scope.
    """


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__
