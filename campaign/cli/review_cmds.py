"""``campaign review`` and ``campaign report``: judge a record, show it to a person."""

from __future__ import annotations

from pathlib import Path

import click

from campaign.cli.common import CampaignError, emit, emit_failure, json_option
from campaign.contract import ExitCode
from campaign.errors import RecordReadError

_RECORD = click.argument("record_dir", type=click.Path(path_type=Path))


def _collect(record_dir: Path) -> dict:
    from campaign.review.report import collect
    from campaign.review.lint import RecordError

    from campaign.loop.record_store import resolve_record_dir

    try:
        return collect(resolve_record_dir(record_dir))  # optim/<name> of a finished campaign: read from git
    except RecordError as exc:
        raise CampaignError.from_user_error(RecordReadError(str(exc))) from exc


@click.command()
@_RECORD
@json_option
@click.pass_context
def review(ctx: click.Context, record_dir: Path, as_json: bool) -> None:
    """Check a campaign record against the method; exit 4 when a rule is broken.

    Prints the iterations (prediction, result, verdict, kept, Surprise), the
    findings with their iteration, the prediction calibration and what each
    change cost in code. CI can gate on the exit code.
    """
    from campaign.review.report import format_text

    result = _collect(record_dir)
    if result["findings"]:
        emit_failure(result, as_json, format_text, "review_findings",
                     f"the record breaks the method's rules: {len(result['findings'])} finding(s) (listed above)",
                     ExitCode.FINDINGS)
    emit(result, as_json, format_text)


@click.command()
@_RECORD
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Write the report to this file.")
@json_option
@click.pass_context
def report(ctx: click.Context, record_dir: Path, html_path: Path, as_json: bool) -> None:
    """Write one self-contained HTML report of a campaign record (no network needed)."""
    from campaign.review.report import render_html

    result = _collect(record_dir)
    html = render_html(result)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise CampaignError(f"cannot write the report to {html_path}: {exc.strerror or exc}") from exc
    summary = {"ok": True, "html": str(html_path), "bytes": len(html.encode()), "findings": len(result["findings"])}
    emit(summary, as_json, f"wrote {html_path} ({summary['bytes'] // 1024} kB, {summary['findings']} finding(s))")
