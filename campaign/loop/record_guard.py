"""The campaign's record protected, and what ``status`` may claim checked against reality.

* The journal has a protected copy outside the work tree
  (``<git dir>/campaign/<name>/journal.jsonl``): every locked command first
  ``guard_journal``s - the copy is created or caught up, a journal that lost
  events (deleted with ``optim/``, an older version checked out) is restored
  from it and the user told so, a journal that disagrees with it is refused.
  Off the campaign branch nothing is restored (switch back first), except on
  the start branch after a recorded ``finish``: the merge brings the record.
  The campaign's state is always read through the copy when the journal lost
  events (``Journal.read_protected``).
* ``finish_missing``: a ``finish`` event is only a decision; the campaign is
  finished when the post-optimization tag and the merge exist in git.
* ``running_command``: a lock holder file is a running command only while
  its process lives; a killed one leaves the file behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from campaign.errors import VcsError
from campaign.loop import record
from campaign.loop.journal import JOURNAL_NAME, CampaignLock, Journal
from campaign.loop.record_place import COPY_FOLDER, copy_dir  # noqa: F401 - re-exported: where the copy lives

INIT_LOCK = "init.lock"


def campaign_journal(workspace: Path, name: str, record_dir: Path) -> Journal:
    """A campaign's journal: with its protected copy and its mirror in git objects (``journal_ref``), each event
    stamped with its writer (``driver``), refusing a journal that does not begin with ``init``."""
    from campaign.loop.driver import current_writer
    from campaign.loop.journal_ref import JournalRef
    from campaign.vcs import git_dir

    folder = git_dir(Path(workspace))
    mirror = JournalRef(folder, name) if folder is not None else None
    return Journal(record_dir, copy_dir(workspace, name), require_init=True, mirror=mirror, writer=current_writer)


def protected_names(workspace: Path) -> list[str]:
    """Campaigns that have a protected copy (their ``optim/<name>/`` may be gone)."""
    from campaign.loop.journal_ref import ref_names
    from campaign.vcs import git_dir

    folder = copy_dir(workspace, "_")
    if folder is None:
        return []
    names = set(ref_names(git_dir(Path(workspace))))  # both files deleted: the journal's blob in git remains
    if folder.parent.is_dir():
        names |= {p.parent.name for p in folder.parent.glob(f"*/{JOURNAL_NAME}") if p.stat().st_size}
    return sorted(names)


def init_lock(workspace: Path, name: str) -> CampaignLock | None:
    """The lock two ``campaign init`` of one name take before checking that the campaign does not exist yet.

    It lives beside the protected copy, outside the work tree: an init that
    fails its checks leaves nothing in the repository.
    """
    folder = copy_dir(workspace, name)
    return CampaignLock(folder, lock_name=INIT_LOCK, holder_name=INIT_LOCK + ".holder") if folder else None


def guard_journal(journal: Journal, repo_opener: Callable[[], Any], record_rel: str,
                  notify: Callable[[str], None]) -> None:
    """Check the journal against its copy (hold the lock): catch the copy up, restore, or refuse."""
    check = journal.check_copy()
    if check is None or check.state == "ok":
        return
    if check.state in ("new", "behind"):
        if check.journal_lines == 0:
            return  # nothing to protect yet (init is about to write its first event)
        journal.read()  # a journal that may not become the copy (no init first, corrupt) is refused here
        journal.write_copy()
        return
    if check.state == "diverged":
        raise journal.diverged_error(check)
    from campaign import vcs
    from campaign.loop.machine import derive

    repo = repo_opener()
    from campaign.loop.journal import parse_journal

    recorded = derive(parse_journal(journal.kept_bytes() or b"", str(journal.copy_path)).events)
    init = recorded.init or {}
    branch = init.get("branch")
    on = None if repo.head.is_detached else repo.active_branch.name
    if branch and on != branch and recorded.start_commit:
        if recorded.finish is not None and on == init.get("start_branch"):
            return  # FINISH stopped between checking out the start branch and merging: the merge brings the record
        raise VcsError(
            f"the campaign's journal {journal.path} lacks {check.copy_lines - check.journal_lines} event(s) and "
            f"the repository is on {on or 'a detached HEAD'}, not on the campaign branch {branch} (an agent or a "
            f"command switched branch or stashed). The journal is safe in {journal.copy_path}. Switch back "
            f"(`git switch {branch}`, then `git stash pop` if work was stashed) and run the command again; "
            f"nothing was changed."
        )
    restored, backup = journal.restore_from_copy()
    files = vcs.restore_missing(repo, record_rel)
    kept = f"; the replaced journal is kept as {backup.name}" if backup else ""
    also = f"; {len(files)} committed record file(s) restored from git" if files else ""
    notify(f"the journal {journal.path} had lost {restored} event(s) (deleted or replaced); restored it from "
           f"its protected copy {journal.copy_path}{kept}{also}.")


def put_back_journal(journal: Journal, notify: Callable[[str], None]) -> bool:
    """For a ``campaign run`` after its agent's turn: any change to the journal is put back (hold the lock).

    The runner is the only writer while it drives (``campaign.loop.driver``)
    and writes the protected copy first, so a journal that differs from the
    copy in any way (a line added, edited, removed) was changed by someone
    else: the copy is put back and the changed journal kept beside it.
    """
    check = journal.check_copy()
    if check is None or check.state not in ("behind", "diverged") or not journal.kept_bytes():
        return False  # lost events (deleted, another branch checked out): guard_journal's checks decide
    _, backup = journal.restore_from_copy()
    kept = f"; the changed journal is kept as {backup.name}" if backup else ""
    notify(f"the journal {journal.path} was changed during the agent's turn (only `campaign run` writes the record "
           f"while it drives); put back the runner's journal from its protected copy{kept}.")
    return True


def finish_missing(repo, init: dict[str, Any], finish: dict[str, Any]) -> list[str]:
    """What git still lacks for a campaign whose ``finish`` event is written (empty: really finished)."""
    from campaign import vcs

    return vcs.finish_missing(repo, finish.get("post_tag") or f"{init['name']}/post-optimization",
                              init["branch"], finish.get("merged_into") or init["start_branch"])


def finished_elsewhere(repo, init: dict[str, Any], finish: dict[str, Any]) -> bool:
    """A record whose ``finish`` was made in another clone and exported without its git history.

    Neither its pre-optimization tag, nor its campaign branch, nor any commit
    it recorded is in this repository: nothing here was interrupted, there is
    nothing for ``campaign finish`` to complete (a finish interrupted here
    leaves the branch and the tag behind).
    """
    from campaign import vcs

    if not finish:
        return False
    name = init.get("name") or ""
    if vcs.tag_commit(repo, init.get("pre_tag") or f"{name}/pre-optimization"):
        return False
    if init.get("branch") and vcs.branch_exists(repo, init["branch"]):
        return False
    checked = record.load_data("finish", finish).validation
    for sha in (init.get("base_commit"), checked.commit if checked else None):
        if sha and _has_commit(repo, sha):
            return False
    return True


def _has_commit(repo, sha: str) -> bool:
    import git

    try:
        repo.commit(sha)
        return True
    except (git.BadName, ValueError, git.GitCommandError):
        return False


def running_command(lock: CampaignLock) -> dict[str, Any] | None:
    """The command holding the campaign's lock, if it is running (its pid lives), else None."""
    return lock.running_holder()
