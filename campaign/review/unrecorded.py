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
    except Exception:  # no git, or a journal the pure rules already judge
        return []
    init = state.init
    if not top or init is None or not init.get("branch"):
        return []
    try:
        repo = vcs.open_repo(Path(top))
        record_rel = Path(record).resolve().relative_to(Path(top).resolve()).as_posix()
        ref = init["branch"] if vcs.branch_exists(repo, init["branch"]) else None
        post = (state.finish.post_tag if state.finish else None) or f"{init.get('name')}/post-optimization"
        ref = ref or (post if vcs.tag_commit(repo, post) else None)
        if ref is None:
            return []
        commits = git_guard.unrecorded_commits(repo, state, record_rel, branch=ref)
    except Exception:  # a repository the record no longer matches: nothing to compare
        return []
    return [Finding(RULE_ID, None, f"commit {c['commit'][:10]} {c['subject']!r} on {ref} was made by no campaign "
                                   f"step: the record's numbers do not cover it") for c in commits]
