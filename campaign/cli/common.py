"""Pieces every command shares: the error type, ``--json`` and ``--dir``, output.

User mistakes raise ``CampaignError`` (one clear paragraph, a non-zero exit
code, no traceback). ``exit_code=2`` is for "this step may not come next".
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click


class CampaignError(click.ClickException):
    """A user-facing error: printed as one paragraph, exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.data = data or {}

    def show(self, file=None) -> None:  # click prints "Error: <message>"
        click.echo(f"error: {self.format_message()}", err=True)


def json_option(func: Callable) -> Callable:
    """``--json``: print one machine-readable JSON object instead of text."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")(func)


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
    """Print ``result`` as JSON or as human text (a string or a formatter)."""
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text(result) if callable(text) else text)


def main_guard(group: click.Group) -> None:
    """Run the group; turn a ``--json`` CampaignError into a JSON error object too."""
    try:
        code = group.main(standalone_mode=False)
    except CampaignError as exc:
        if "--json" in sys.argv:
            click.echo(json.dumps({"ok": False, "error": exc.format_message(), **exc.data}, default=str))
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def user_errors(func: Callable) -> Callable:
    """Turn library errors into one-paragraph CampaignErrors (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from campaign.errors import UserError

        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise CampaignError(exc.message, exit_code=exc.exit_code, data=exc.data) from None
        except Exception as exc:
            target_module = sys.modules.get("campaign.plugins.target")  # raised only if imported: keep start-up lean
            if target_module is not None and isinstance(exc, target_module.TargetError):
                raise CampaignError(str(exc)) from None
            if type(exc).__name__ == "GitCommandError":  # GitPython, not imported here (start-up time)
                detail = " ".join(str(getattr(exc, "stderr", "") or exc).split())
                raise CampaignError(
                    f"git failed: {detail}. The journal is intact; fix the repository state and run "
                    f"`campaign status` to see how to continue."
                ) from None
            raise

    return wrapper
