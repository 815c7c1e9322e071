"""``campaign export-record``: a finished campaign's record, out of git into a folder."""

from __future__ import annotations

from pathlib import Path

import click

from campaign.cli.common import dir_option, emit, json_option
from campaign.cli.common import user_errors as _errors


@click.command("export-record")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="The campaign; needed only when the repository holds several.")
@dir_option
@json_option
@_errors
def export_record(dest, name, workspace, as_json):
    """Write a campaign's record (from refs/campaign/<name>/record, else its branch) into DEST.

    FINISH merges only the code change into your branch; the record stays in
    git. Export it to ship it in a folder of your choosing (e.g. a docs
    site), or to read it with tools that take a folder; `campaign review`,
    `report` and `replay` also read optim/<name> from git without it.
    """
    from campaign import vcs
    from campaign.errors import UserError
    from campaign.loop.record_store import export_record as do_export
    from campaign.loop.record_store import record_commit
    from campaign.loop.steps.context import list_campaigns

    if name is None:
        names = list_campaigns(workspace)
        if len(names) != 1:
            raise UserError(f"name the campaign with --name ({', '.join(names) or 'none found'} in {workspace}).")
        name = names[0]
    repo = vcs.open_repo(Path(workspace).resolve())
    out = do_export(repo, name, Path(dest))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    result = {"ok": True, "name": name, "record": str(out), "commit": record_commit(repo, name), "files": len(files)}
    emit(result, as_json, f"wrote the record of {name} ({len(files)} files, commit {result['commit'][:10]}) to {out}")
