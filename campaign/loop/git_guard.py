"""Git is the campaign's between steps: nothing moves HEAD, the branch or the stash behind its back.

The journal says where git must be: on the campaign branch, HEAD at the last
commit a step made (the start commit, then each kept iteration's commit), or
at the record's own commits on top of it (``record_commits.py``: the record
committed after each commit or revert, holding no code).
Before every step ``between_steps`` compares git with that and refuses
(``GitMovedError``, code ``git_moved``) a commit, reset or branch switch that
no step made, naming the commits and the command that puts things back; it
also refuses a stash made since the last step that holds the record's files
or the attempt's (a stash of other work is the user's business). Each step
leaves the stash list it saw in ``<git dir>/campaign/<name>/git_state.json``.

``unmoved`` does the same around a workload run (TEST, BENCHMARK): a workload
that commits, resets, stashes, switches branch or rewrites the files it is
measuring would make the campaign record a result for code it did not
measure, so the run is refused and nothing is recorded for it.

``unrecorded_commits`` is what FINISH and ``review`` use: the commits a merge
of the campaign branch would bring that no step recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from campaign.errors import GitMovedError
from campaign.loop.framework_files import FRAMEWORK_FILES, RETIRE_SUFFIX
from campaign.loop.record_commits import RECORD_SUBJECT, is_record_commit

STATE_FILE = "git_state.json"
FINISH_MESSAGES = ("campaign {name}: finish", "campaign {name}: the record after an interrupted finish")


@dataclass
class GitSnapshot:
    """What a step leaves behind in git: the branch, HEAD, the stash entries, the changed files' contents."""

    branch: str | None
    head: str | None
    stash: list[str] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)  # changed path -> sha256 of its bytes (None: gone)


def _run(repo, *args: str) -> str:
    try:
        return repo.git.execute(["git", *args], with_extended_output=False)
    except Exception:  # noqa: BLE001 - no git, no repository: nothing to report
        return ""


def stash_list(repo) -> list[str]:
    """The stash entries' commit hashes, newest first (empty without a stash)."""
    return _run(repo, "stash", "list", "--format=%H").split()


def _digest(path: Path) -> str | None:
    try:
        if path.is_symlink():
            return "link:" + os.readlink(path)
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def snapshot(repo, exclude: list[str], with_files: bool = False) -> GitSnapshot:
    """Git as it is now; ``with_files`` adds the contents of every changed path (around a workload run)."""
    from campaign import vcs

    branch = None if repo.head.is_detached else repo.active_branch.name
    try:
        head = repo.head.commit.hexsha
    except ValueError:
        head = None
    files = {}
    if with_files:
        root = Path(repo.working_tree_dir)
        files = {p: _digest(root / p) for p in vcs.changes(repo, exclude=exclude).files}
    return GitSnapshot(branch, head, stash_list(repo), files)


def _commits(repo, spec: str) -> list[dict[str, str]]:
    out = _run(repo, "log", "--format=%H%x00%s", spec)
    return [dict(zip(("commit", "subject"), line.split("\0", 1))) for line in out.splitlines() if "\0" in line]


def _listed(commits: list[dict[str, str]], limit: int = 8) -> str:
    text = "; ".join(f"{c['commit'][:10]} {c.get('subject', '')!r}" for c in commits[:limit])
    return text + (f"; and {len(commits) - limit} more" if len(commits) > limit else "")


def _subject(repo, sha: str) -> str:
    return _run(repo, "log", "-1", "--format=%s", sha)


def _stash_files(repo, sha: str) -> list[str]:
    """The paths a stash entry holds (tracked changes and, with ``-u``, untracked files)."""
    files = set(_run(repo, "diff", "--name-only", f"{sha}^1", sha).splitlines())
    if _run(repo, "rev-parse", "--verify", "--quiet", f"{sha}^3"):
        files |= set(_run(repo, "ls-tree", "-r", "--name-only", f"{sha}^3").splitlines())
    return sorted(f for f in files if f)


def state_path(ctx) -> Path | None:
    from campaign.loop.record_guard import copy_dir

    folder = copy_dir(ctx.workspace, ctx.name)
    return folder / STATE_FILE if folder is not None else None


def _load(ctx) -> dict[str, Any] | None:
    path = state_path(ctx)
    try:
        data = json.loads(path.read_text()) if path is not None else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _save(ctx, snap: GitSnapshot) -> None:
    path = state_path(ctx)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"branch": snap.branch, "head": snap.head, "stash": snap.stash}))
        os.replace(tmp, path)
    except OSError:
        pass  # the stash check then compares with an older list; HEAD and the branch come from the journal


def _campaign_files(ctx, state) -> list[str]:
    """Paths whose presence in a new stash means the campaign's work left the tree: the record, the attempt."""
    it = state.current
    attempt = list(it.implement.files or []) if it is not None and it.implement and not it.done else []
    return [ctx.record_rel + "/", *attempt]


def _held(files: list[str], campaign_files: list[str]) -> list[str]:
    return [f for f in files if any(f == c or (c.endswith("/") and f.startswith(c)) for c in campaign_files)]


def expected_head(ctx, state) -> str | None:
    """The commit HEAD must be at now (the last commit a step made), None when the journal sets none yet."""
    if state.init is None or state.start_commit is None or state.finish is not None:
        return None
    return state.last_kept_commit


def _pending_commit_ok(ctx, state, head: str, recorded: str) -> bool:
    """A LOG interrupted after its commit and before its ``commit`` event: that one commit is the campaign's."""
    from campaign.loop.machine import Step
    from campaign.loop.record_commits import code_head

    if state.step is not Step.COMMIT or state.current is None:
        return False
    parent = _run(ctx.repo, "rev-parse", "--verify", "--quiet", f"{head}^1")
    return (bool(parent) and code_head(ctx.repo, ctx.name, ctx.record_rel, parent) == recorded
            and _subject(ctx.repo, head).startswith(f"campaign {ctx.name} iter {state.current.n}:"))


def _check_head(ctx, state, repo, now: GitSnapshot, recorded: str, moved_by: str, again: str,
                data: dict[str, Any]) -> None:
    """HEAD must be the campaign's last commit (or the record's own commits on it, ``record_commits``): refuse
    commits added on top, or a reset that dropped some."""
    from campaign.loop.record_commits import code_head, record_tip

    code = code_head(repo, ctx.name, ctx.record_rel, now.head) if now.head else None
    if code == recorded or (code is not None and _pending_commit_ok(ctx, state, code, recorded)):
        return
    branch, rec = data["expected_branch"], f"{recorded[:10]} {_subject(repo, recorded)!r}"
    ours = record_tip(repo, ctx.name, ctx.record_rel, recorded, now.head)  # the campaign's own last commit
    ahead, dropped = _commits(repo, f"{ours}..{now.head}"), _commits(repo, f"{now.head}..{recorded}")
    data.update({"commits": ahead, "dropped": dropped})
    if ahead and not dropped:
        raise GitMovedError(
            f"{len(ahead)} commit(s) on {branch} that {moved_by} made: {_listed(ahead)}. The campaign "
            f"commits only what TEST and BENCHMARK measured (its last commit is {rec}), so it will not go on, "
            f"log or finish on top of them. Undo them, keeping their changes as uncommitted edits: "
            f"`git reset --soft {ours[:10]}` (or drop them: `git reset --hard {ours[:10]}`), then "
            f"{again}; nothing was changed.", data)
    what = (f"dropped {len(dropped)} commit(s) the campaign made ({_listed(dropped)})"
            + (f" and added {len(ahead)} it did not ({_listed(ahead)})" if ahead else ""))
    raise GitMovedError(
        f"HEAD of {branch} is at {(now.head or '?')[:10]}, not at the campaign's last commit {rec}: a reset "
        f"that {moved_by} made {what}. Put the campaign's commit back: `git reset --hard {recorded[:10]}` "
        f"(it drops uncommitted edits; the record's journal comes back from its protected copy), then "
        f"{again}; nothing was changed.", data)


def _check_stash(ctx, state, repo, now: GitSnapshot, recorded: str, before: GitSnapshot | None, moved_by: str,
                 again: str, data: dict[str, Any]) -> None:
    """A new stash made on the campaign's commit must not hold the record or the attempt."""
    # a stash is shared by every worktree of the repository: only one made on the campaign's commit is ours
    new = [sha for sha in now.stash if sha not in _known_stash(ctx, state, repo, now.stash, before)
           and _run(repo, "rev-parse", "--verify", "--quiet", f"{sha}^1") in (recorded, now.head)]
    if not new:
        return
    wanted = _campaign_files(ctx, state)
    for index, sha in enumerate(now.stash):
        held = _held(_stash_files(repo, sha), wanted) if sha in new else []
        if held or (before is not None and sha in new):
            data["stash"] = {"entry": f"stash@{{{index}}}", "commit": sha, "files": held}
            raise GitMovedError(
                f"a stash that {moved_by} made (stash@{{{index}}}: {_subject(repo, sha)!r}) holds "
                f"{', '.join(held[:8]) or 'changes of the working tree'}: the campaign's record or the "
                f"attempt left the working tree behind its back. Put them back: `git stash pop` (stash@{{"
                f"{index}}}), then {again}; nothing was changed.", data)


def _check_files(ctx, repo, now: GitSnapshot, before: GitSnapshot, moved_by: str, again: str,
                 data: dict[str, Any]) -> None:
    """The working tree a measurement ran on must not change under it."""
    changed = sorted(p for p in set(before.files) | set(now.files) if before.files.get(p) != now.files.get(p)
                     and (p in before.files or p in _tracked_changes(repo, [ctx.record_rel])))
    if changed:
        data["files"] = changed
        raise GitMovedError(
            f"{moved_by} changed {', '.join(changed[:10])}{' ...' if len(changed) > 10 else ''} in the "
            f"working tree it was measuring, so what it measured is not the attempt. Put the attempt back "
            f"(its diff is in {ctx.record_rel}/patches/), then {again}; nothing was recorded for it.", data)


def check(ctx, state, moved_by: str = "no campaign step", before: GitSnapshot | None = None,
          rerun: str | None = None) -> None:
    """Refuse (``GitMovedError``) git that is not where the journal (or ``before``) left it."""
    recorded = expected_head(ctx, state)
    if recorded is None:
        return
    repo = ctx.repo
    branch = state.init.branch
    now = snapshot(repo, [ctx.record_rel], with_files=before is not None)
    again = rerun or "run the command again"
    data = {"expected_branch": branch, "expected_head": recorded, "branch": now.branch, "head": now.head}
    if now.branch != branch:
        rec = f"{recorded[:10]} {_subject(repo, recorded)!r}"
        raise GitMovedError(
            f"the repository is on {now.branch or 'a detached HEAD'}, not on the campaign branch {branch}: a "
            f"branch switch that {moved_by} made. The campaign's commits and tested tree are on {branch} (its "
            f"last commit is {rec}). Switch back (`git switch {branch}`, then `git stash pop` if you stashed "
            f"work to switch) and {again}; nothing was changed.", data)
    _check_head(ctx, state, repo, now, recorded, moved_by, again, data)
    _check_stash(ctx, state, repo, now, recorded, before, moved_by, again, data)
    if before is not None:
        _check_files(ctx, repo, now, before, moved_by, again, data)


def _known_stash(ctx, state, repo, stash: list[str], before: GitSnapshot | None) -> list[str]:
    """The stash entries no step need answer for: those before the run, or the last step's list.

    Without the last step's list (an older campaign, or the file was lost), the entries older than the
    campaign's start commit.
    """
    if before is not None:
        return before.stash
    saved = _load(ctx)
    if saved is not None:
        return list(saved.get("stash") or [])
    start = _run(repo, "log", "-1", "--format=%ct", state.start_commit or "HEAD")
    times = {sha: _run(repo, "log", "-1", "--format=%ct", sha) for sha in stash}
    return [sha for sha, t in times.items() if t and start and int(t) < int(start)]


def _tracked_changes(repo, exclude: list[str]) -> set[str]:
    from campaign import vcs

    return set(vcs.changes(repo, exclude=exclude).tracked)


@contextmanager
def between_steps(ctx) -> Iterator[None]:
    """Check git before a step (the lock held); leave the stash list the step ends with for the next one."""
    try:
        state = ctx.state()
    except Exception:  # noqa: BLE001 - the journal itself is wrong: the record guard says so next
        state = None
    if state is not None:
        check(ctx, state)
    refused = False
    try:
        yield
    except GitMovedError:
        refused = True
        raise
    finally:
        if not refused:
            try:
                _save(ctx, snapshot(ctx.repo, [ctx.record_rel]))
            except Exception:  # noqa: BLE001 - no repository (yet): nothing to leave
                pass


@contextmanager
def unmoved(ctx, state, what: str, rerun: str = "run `campaign try` again") -> Iterator[None]:
    """Around a workload run in the work tree: refuse the result if the run moved git or the measured files."""
    before = snapshot(ctx.repo, [ctx.record_rel], with_files=True)
    yield
    check(ctx, state, moved_by=f"the workload during {what}", before=before,
          rerun=f"make the workload leave git alone and {rerun}")


def recorded_commits(state) -> set[str]:
    """The commits the journal accounts for: the start commit and every kept iteration's commit."""
    out = {state.start_commit} if state.start_commit else set()
    out |= {it.commit.commit for it in state.iterations if it.commit}
    return {c for c in out if c}


def unrecorded_commits(repo, state, record_rel: str, branch: str | None = None) -> list[dict[str, str]]:
    """Commits on the campaign branch (or ``branch``) since the base commit that no step recorded.

    FINISH's own record commits and the record's commits after each commit or revert (their message, and
    touching only the record folder) are the campaign's.
    """
    init = state.init or {}
    branch, base = branch or init.get("branch"), init.get("base_commit")
    if not branch or not base:
        return []
    candidates = _commits(repo, f"{base}..{branch}")
    known = recorded_commits(state)
    name = init.get("name", "")
    finish_prefixes = tuple(m.format(name=name) for m in FINISH_MESSAGES)
    out = []
    for commit in candidates:
        sha = commit["commit"]
        if sha in known:
            continue
        if commit["subject"].startswith(RECORD_SUBJECT.format(name=name)):  # the record's own commit (record_commits)
            touched = _run(repo, "diff-tree", "--no-commit-id", "--name-only", "--no-renames", "-r", sha).splitlines()
            parents = _run(repo, "log", "-1", "--format=%P", sha).split()
            if is_record_commit(commit["subject"], touched, len(parents), name, record_rel):
                continue
        if commit["subject"].startswith(finish_prefixes):
            touched = _run(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).splitlines()
            if all(p.startswith(record_rel.rstrip("/") + "/") for p in touched):
                continue
        if commit["subject"].startswith(f"campaign {name}: ") and commit["subject"].endswith(RETIRE_SUFFIX):
            touched = _run(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).splitlines()
            if touched and set(touched) <= set(FRAMEWORK_FILES):  # FINISH retiring AGENTS.md / SKILL.md
                continue
        out.append(commit)
    return out


def require_accounted(ctx, state) -> None:
    """FINISH merges only what the journal accounts for: refuse (naming them) commits no step recorded."""
    commits = unrecorded_commits(ctx.repo, state, ctx.record_rel)
    if not commits:
        return
    init = state.init or {}
    last = state.last_kept_commit or init.get("base_commit") or ""
    raise GitMovedError(
        f"the campaign branch {init.get('branch')} holds {len(commits)} commit(s) that no campaign step recorded: "
        f"{_listed(commits)}. FINISH merges only what the journal's kept iterations account for, so nothing was "
        f"tagged or merged. Remove them (on top of the campaign's last commit: `git reset --hard {last[:10]}`; "
        f"elsewhere: `git rebase -i {(init.get('base_commit') or '')[:10]}` and drop them), then run "
        f"`campaign finish` again.", {"commits": commits})
