"""Pieces every command shares: the error type, ``--json`` and ``--dir``, output, the exit-code contract.

User mistakes raise ``CampaignError`` (one clear paragraph, no traceback) with
a stable ``code`` and an ``ExitCode`` (``campaign.contract``). ``run_with_contract``
turns every outcome -- parser errors and crashes included -- into that exit
code and, under ``--json``, into one JSON object on stdout (docs/contract.md).
"""

from __future__ import annotations

import functools
import json
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, NoReturn

import click

from campaign.contract import SCHEMA_VERSION, ExitCode, error_payload


class CampaignError(click.ClickException):
    """A user-facing error: printed as one paragraph, exits with ``exit_code``; ``code`` names its kind."""

    def __init__(self, message: str, exit_code: int = ExitCode.USER_ERROR, data: dict[str, Any] | None = None,
                 code: str = "user_error"):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc, unused-ignore]  # click 8.5 made it a ClassVar; ours is per error
        self.data = data or {}
        self.code = code

    @classmethod
    def from_user_error(cls, exc) -> "CampaignError":
        """The CLI form of a library ``campaign.errors.UserError`` (same message, code, exit code, data)."""
        return cls(exc.message, exit_code=exc.exit_code, data=exc.data, code=exc.code)

    def show(self, file=None) -> None:  # click prints "Error: <message>"
        click.echo(f"error: {self.format_message()}", err=True)


from campaign.measure.procs import Terminated, request_termination, termination_requested  # noqa: E402


_handling_sigterm = False  # handle_sigterm ran: this process is the `campaign` command


def _on_sigterm(signum, frame) -> None:
    # remembered first: the exception below may be raised inside a finalizer, which swallows it
    request_termination()
    # a second SIGTERM must not cut short the cleanup the first one started (killing a run's
    # children, completing a write); a Python no-op, not SIG_IGN, which children would inherit
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    raise Terminated()


def handle_sigterm() -> None:
    """From now on SIGTERM stops the command as Ctrl-C does, exiting with ``ExitCode.TERMINATED`` (143).

    Python's default for SIGTERM is to die on the spot: the children of a
    run (``campaign.measure.procs``) would keep running, unswept. Only the
    console entry point installs this (the main thread of a process that is
    ``campaign``). A second SIGTERM is ignored while the first one's cleanup
    runs; SIGKILL still ends the process at once.
    """
    global _handling_sigterm
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
        _handling_sigterm = True
    except ValueError:  # not the main thread (an embedding program): Python's default stays
        pass


def json_option(func: Callable) -> Callable:
    """``--json``: print one machine-readable JSON object instead of text."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")(func)


def quiet_option(func: Callable) -> Callable:
    """``--quiet/-q``: no progress on stderr (warnings and errors still); see ``campaign.cli.live``."""
    return click.option("--quiet", "-q", is_flag=True,
                        help="No progress on stderr, only warnings and errors (by default: what runs, elapsed, "
                             "ETA; a live line on a terminal, NO_COLOR honoured).")(func)


def dir_option(func: Callable) -> Callable:
    """``--dir``: the workspace (git repo) the campaign lives in; default: current directory."""
    return click.option(
        "--dir",
        "workspace",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        show_default=True,
        help="Workspace (the git repository being optimized).",
    )(func)


def emit(result: dict[str, Any], as_json: bool, text: str | Callable[[dict[str, Any]], str]) -> None:
    """Print ``result`` as JSON (stamped with ``schema_version``) or as human text (a string or a formatter)."""
    if as_json:
        click.echo(json.dumps({"ok": True, **result, "schema_version": SCHEMA_VERSION}, indent=2, sort_keys=True,
                              default=str))
    else:
        click.echo(text(result) if callable(text) else text)


def emit_failure(result: dict[str, Any], as_json: bool, text: str | Callable[[dict[str, Any]], str], code: str,
                 message: str, exit_code: int) -> NoReturn:
    """A command that ran but whose outcome is a failure (TEST failed, review findings): print, then exit.

    Under ``--json`` the whole result goes out with ``ok`` false, ``code`` and ``message``; the text form
    prints as usual, then one ``error:`` line on stderr.
    """
    if as_json:
        click.echo(json.dumps(error_payload(code, message, **result), indent=2, sort_keys=True, default=str))
    else:
        click.echo(text(result) if callable(text) else text)
    click.echo(f"error: {message}", err=True)
    sys.exit(exit_code)


def _print_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, sort_keys=True, default=str))


def run_with_contract(invoke: Callable[[], Any], as_json: bool) -> NoReturn:
    """Run a click invocation (``standalone_mode=False``) and exit with the code its outcome calls for."""
    try:
        code = invoke()
    except CampaignError as exc:
        if as_json:
            _print_json(error_payload(exc.code, exc.format_message(), **exc.data))
        exc.show()
        _exit(exc.exit_code, as_json)
    except click.UsageError as exc:  # the parser: unknown option, bad value, bad choice, missing argument
        if as_json:
            command = exc.ctx.command_path if exc.ctx is not None else None
            _print_json(error_payload("usage_error", exc.format_message(), command=command))
        exc.show()
        _exit(ExitCode.USAGE, as_json)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:  # click turns Ctrl-C (and SIGTERM) into Abort
        if isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated) or termination_requested():
            if as_json:
                _print_json(error_payload("terminated", "terminated (SIGTERM); `campaign status` says how to continue"))
            click.echo("terminated (SIGTERM)", err=True)
            sys.exit(ExitCode.TERMINATED)
        if as_json:
            _print_json(error_payload("interrupted", "aborted (Ctrl-C); `campaign status` says how to continue"))
        click.echo("aborted", err=True)
        _exit(ExitCode.INTERRUPTED, as_json)
    except click.ClickException as exc:  # e.g. a file click could not open
        if as_json:
            _print_json(error_payload("user_error", exc.format_message()))
        exc.show()
        _exit(ExitCode.USER_ERROR, as_json)
    except click.exceptions.Exit as exc:
        _exit(exc.exit_code, as_json)
    except SystemExit as exc:  # a command that exits with its own code (emit_failure)
        _exit(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1), as_json)
    except Exception as exc:  # noqa: BLE001 - a bug: keep the traceback (stderr), still honour the contract
        message = (f"internal error: {type(exc).__name__}: {exc}. This is a bug in campaign; the traceback is "
                   f"on stderr. The journal is append-only: `campaign status` shows where the campaign stands.")
        if as_json:
            _print_json(error_payload("internal_error", message))
        traceback.print_exc(file=sys.stderr)
        click.echo(f"error: {message}", err=True)
        _exit(ExitCode.INTERNAL, as_json)
    _exit(code if isinstance(code, int) else 0, as_json)


def _exit(code: int, as_json: bool) -> NoReturn:
    """Exit with ``code``, or 143 when a SIGTERM arrived, however late (never the default death by signal, -15).

    SIGTERM is blocked from here on: Python resets its handlers while it shuts
    down, so a late one would otherwise kill the process with -15 after its
    output. One that arrived (and was perhaps swallowed) before is 143.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    pending = False
    if _handling_sigterm and hasattr(signal, "pthread_sigmask"):  # only the campaign process itself, not a host
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            pending = signal.SIGTERM in signal.sigpending()
        except (OSError, ValueError):
            pass
    if code != ExitCode.TERMINATED and (pending or termination_requested()):
        click.echo("terminated (SIGTERM)", err=True)
        sys.exit(ExitCode.TERMINATED)
    sys.exit(code)


def user_errors(func: Callable) -> Callable:
    """Turn library errors into one-paragraph CampaignErrors (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from campaign.errors import as_user_error

        try:
            return func(*args, **kwargs)
        except Exception as exc:
            user_error = as_user_error(exc)  # a UserError, a target that cannot load, git's own failure
            if user_error is None:
                raise  # a bug: run_with_contract reports it (exit 70, traceback on stderr)
            raise CampaignError.from_user_error(user_error) from None

    return wrapper
