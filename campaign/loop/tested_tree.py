"""LOG commits or reverts exactly the tree ``campaign try`` tested, and nothing else.

``campaign try`` records the git tree it tested (HEAD plus the attempt's
changes, written through a temporary index) in its ``implement`` event. LOG,
and the completion of a LOG interrupted before its commit or revert, compare
the working tree with it first. Anything that changed since - an edit to
another file, a new untracked file, a further edit to a tested file - is the
user's: LOG refuses, naming those files, and changes nothing.
"""

from __future__ import annotations


from campaign.errors import VcsError
from campaign.loop import record


def tested_tree(repo, files: list[str]) -> str:
    """The tree ``try`` tests: HEAD with ``files`` as they are now (recorded as ``implement.tree``)."""
    from campaign import vcs

    return vcs.worktree_tree(repo, files)


def require_tested_tree(repo, implement: record.Implement | None, record_rel: str, action: str) -> None:
    """Refuse (``VcsError``) unless the working tree is the tested one.

    ``action`` is ``commit`` (the tree must be exactly the tested one) or
    ``revert`` (a tested path already back at HEAD is fine: a revert that
    was interrupted halfway). Journals from before ``implement.tree`` was
    recorded fall back to the patch hash (commit) or to no check (revert).
    """
    from campaign import vcs

    implement = implement or record.Implement()
    tree = implement.tree
    patch = f"{record_rel}/{implement.patch}"
    if tree is None:
        if action == "commit":
            _require_same_patch(repo, implement, record_rel, patch)
        return
    foreign = vcs.untested_changes(repo, tree, exclude=[record_rel], partial_revert=(action == "revert"))
    if not foreign:
        return
    listed = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
    raise VcsError(
        f"the working tree changed since `campaign try` tested it: {listed} "
        f"{'is' if len(foreign) == 1 else 'are'} not as tested. LOG {action}s exactly the tested change and "
        f"never touches your other work: move that work aside (e.g. `git stash push -u -- <files>`, or commit "
        f"it elsewhere), put the tested state back (its diff is {patch}), and run `campaign log` again; "
        f"nothing was changed.",
        {"files": foreign},
    )


def _require_same_patch(repo, implement: record.Implement, record_rel: str, patch: str) -> None:
    import hashlib

    from campaign import vcs

    found = vcs.changes(repo, exclude=[record_rel])
    now = hashlib.sha256(vcs.diff_patch(repo, found.files)).hexdigest()
    if now != implement.patch_sha256:
        raise VcsError(
            "the working tree changed since `campaign try` measured it, so the change to commit is not the "
            f"one that was tested. Restore the tested state (the diff is in {patch}) and run `campaign log` again."
        )


def revert_tested(repo, implement: record.Implement | None, record_rel: str) -> list[str]:
    """Put back at HEAD the paths of the tested change (only those); the paths restored."""
    from campaign import vcs

    found = vcs.changes(repo, exclude=[record_rel])
    tree = implement.tree if implement else None
    if tree is not None:
        tested = set(vcs.tree_diff(repo, "HEAD", tree))
        found = vcs.Changes([p for p in found.tracked if p in tested], [p for p in found.untracked if p in tested])
    vcs.restore(repo, found)
    return found.files
