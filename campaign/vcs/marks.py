"""The campaign's marks in git: its refs (pre-/post-optimization), its branch, and the merge back at FINISH."""

from __future__ import annotations

import re

from campaign.errors import VcsError
from campaign.vcs.repo import identity_env

CAMPAIGN_REFS = "campaign/"  # a campaign's marks live under refs/campaign/: not tags, so never `git describe`'s


def campaign_ref(name: str, which: str) -> str:
    """The mark ``which`` (pre-/post-optimization) of campaign ``name``: ``campaign/<name>/<which>``.

    As a revision it resolves to ``refs/campaign/<name>/<which>`` (git tries
    ``refs/<rev>``), so ``git diff campaign/x/pre-optimization`` works, while
    ``git describe --tags``, setuptools-scm and hatch-vcs, which read only
    ``refs/tags/``, never see it. Records made before this keep their real
    tags (``<name>/pre-optimization``) and are still read.
    """
    return f"{CAMPAIGN_REFS}{name}/{which}"


def ref_path(tag: str) -> str:
    """The full ref of a campaign mark: ``refs/campaign/...``, or ``refs/tags/...`` for an older record's tag."""
    return f"refs/{tag}" if tag.startswith(CAMPAIGN_REFS) else f"refs/tags/{tag}"


def tag_commit(repo, tag: str) -> str | None:
    """The commit a campaign mark (or an older record's tag) points at; None when it does not exist."""
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{ref_path(tag)}^{{commit}}")
    except Exception:  # noqa: BLE001 - any failure means: no such commit
        return None


def move_tag(repo, tag: str, commit: str) -> None:
    """Point a campaign mark at ``commit`` (created or moved)."""
    if tag.startswith(CAMPAIGN_REFS):
        repo.git.update_ref(ref_path(tag), commit)
    else:
        repo.git.tag("-f", tag, commit)


def ensure_tag(repo, tag: str, commit: str) -> None:
    """Create the mark ``tag`` at ``commit``; fine when it already points there, an error when elsewhere."""
    existing = tag_commit(repo, tag)
    if existing == commit:
        return
    if existing:
        delete = (f"git update-ref -d {ref_path(tag)}" if tag.startswith(CAMPAIGN_REFS) else f"git tag -d {tag}")
        raise VcsError(
            f"the mark {tag} already exists at {existing[:10]}, not at {commit[:10]}. Choose another "
            f"campaign name (--name) or delete the old one (`{delete}`)."
        )
    move_tag(repo, tag, commit)


def branch_exists(repo, branch: str) -> bool:
    return f"refs/heads/{branch}" in {r.path for r in repo.branches}


def switch_to_new_branch(repo, branch: str, start: str) -> None:
    """Check out ``branch`` (created at ``start`` when missing)."""
    if branch_exists(repo, branch):
        repo.git.checkout(branch)
    else:
        repo.git.checkout("-b", branch, start)



def is_ancestor(repo, ancestor: str, descendant: str) -> bool:
    try:
        repo.git.merge_base("--is-ancestor", ancestor, descendant)
        return True
    except Exception:  # noqa: BLE001 - not an ancestor, or not a commit: either way not an ancestor
        return False


def merge_into(repo, branch: str, into: str, message: str) -> str:
    """Check out ``into`` and merge ``branch`` (a no-op when already merged); returns the new HEAD."""
    import git

    try:
        repo.git.checkout(into)
    except git.GitCommandError as exc:
        detail = str(exc.stderr or "").strip()
        detail = re.sub(r"^stderr: '(.*)'$", r"\1", detail, flags=re.S)
        detail = " ".join(detail.replace("fatal:", "").replace("error:", "").split())
        raise VcsError(
            f"cannot check out {into} to merge {branch} into it ({detail}). Nothing was merged; free {into} "
            f"(e.g. `git worktree remove` the other checkout of it) and run `campaign finish` again."
        ) from None
    if not is_ancestor(repo, branch, into):
        repo.git.merge("--no-ff", "-m", message, branch, env=identity_env(repo))
    return repo.head.commit.hexsha


def finish_missing(repo, post_tag: str, branch: str, into: str) -> list[str]:
    """What a finished campaign still lacks in git: the post-optimization tag, the merge into ``into``."""
    missing = []
    tagged = tag_commit(repo, post_tag)
    if not tagged:
        missing.append(f"the mark {post_tag} ({ref_path(post_tag)})")
    merged_ref = tagged or branch
    if not is_ancestor(repo, merged_ref, into):
        missing.append(f"the merge of {branch} into {into}")
    return missing

