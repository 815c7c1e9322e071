"""The one error a tune raises for a user mistake, and how a failure is quoted in one line."""

from __future__ import annotations

try:  # the loop's error base class, when present
    from campaign.errors import UserError as _Base
except ImportError:  # pragma: no cover
    _Base = Exception


class TuneError(_Base):
    """A tuning request that cannot run (bad knob, bad storage, broken default): one paragraph."""

    exit_code = 1
    code = "tune_error"

    def __init__(self, message: str, data: dict | None = None):
        Exception.__init__(self, message)
        self.message = message
        self.data = data or {}


class NotAWorkspaceError(TuneError):
    """The directory holds none of the target's files: a tune there could only measure a crash."""

    code = "not_a_workspace"


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__
