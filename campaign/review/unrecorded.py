"""The review rule that needs git: commits on the campaign branch that no step recorded.

``lint.py`` judges the journal alone; this one compares it with the
repository the record lives in (when it is still there): a commit on the
campaign branch (or under the post-optimization tag) that is neither the
start commit, a kept iteration's commit nor FINISH's record commit was made
behind the campaign's back, and the numbers in the record do not cover it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from campaign.review.lint import Finding

RULE_ID = "unrecorded-commits"
DESCRIPTION = "every commit on the campaign branch is one a step recorded (start, kept iteration, finish)"


def unrecorded_commit_findings(record: Path, events: list[dict[str, Any]]) -> list[Finding]:
    """One finding per commit on the campaign branch that the journal does not account for."""
    from campaign import vcs
    from campaign.loop import git_guard
    from campaign.loop.machine import derive

    try:
        top = subprocess.run(["git", "-C", str(record), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30).stdout.strip()
        state = derive(events)
        record_rel = None
        if not top:
            top, record_rel = _exported_from(Path(record), state.init.name if state.init else None)
    except Exception:  # no git, or a journal the pure rules already judge
        return []
    init = state.init
    if not top or init is None or not init.branch:
        return []
    try:
        repo = vcs.open_repo(Path(top))
        record_rel = record_rel or Path(record).resolve().relative_to(Path(top).resolve()).as_posix()
        ref = init.branch if vcs.branch_exists(repo, init.branch) else None
        post = (state.finish.post_tag if state.finish else None) or f"{init.name}/post-optimization"
        ref = ref or (post if vcs.tag_commit(repo, post) else None)
        if ref is None:
            return []
        commits = git_guard.unrecorded_commits(repo, state, record_rel, branch=ref)
    except Exception:  # a repository the record no longer matches: nothing to compare
        return []
    return [Finding(RULE_ID, None, f"commit {c['commit'][:10]} {c['subject']!r} on {ref} was made by no campaign "
                                   f"step: the record's numbers do not cover it") for c in commits]


def _exported_from(record: Path, name: str | None) -> tuple[str, str | None]:
    """For the readable copy of a finished record (``<git dir>/campaign/<name>/record``, ``loop/record_store.py``):
    the repository's root and the record's folder in it; ("", None) for any other folder."""
    from campaign.loop.record_store import EXPORT_FOLDER, record_commit, record_path_in

    record = record.resolve()
    up = record.parents
    if not name or len(up) < 5 or up[1].name != EXPORT_FOLDER or up[2].name != name or up[3].name != "campaign":
        return "", None
    git_dir = up[4]
    top = subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", "--show-toplevel"], capture_output=True,
                         text=True, timeout=30, cwd=git_dir.parent, check=False).stdout.strip() or str(git_dir.parent)
    from campaign import vcs

    try:
        repo = vcs.open_repo(Path(top))
        commit = record_commit(repo, name)
        return top, (record_path_in(repo, commit, name) if commit else None)
    except Exception:
        return "", None
