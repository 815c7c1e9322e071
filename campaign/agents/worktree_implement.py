"""One attempt's IMPLEMENT in a git worktree of its own (``campaign run --parallel``), run in a worker thread.

The agent edits a detached worktree of the attempt's base commit, never the
campaign's working tree; its diff comes back as patch bytes. Nothing here
writes the journal: the controller records the result.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from campaign.agents.protocol import AgentFailed, ask
from campaign.loop import attempts as att


def implement_in_worktree(agent, workspace: Path, record_dir: Path, record_rel: str, attempt: att.Attempt,
                          context: dict[str, Any], git_lock: threading.Lock) -> dict[str, Any]:
    """One attempt's IMPLEMENT in a detached worktree of its base commit (a worker thread): its patch, or why not.

    Writes nothing but the agent's exchange files; the controller journals the result.
    """
    from campaign import vcs
    from campaign.measure.worktrees import worktree

    try:
        with git_lock:
            tree = worktree(workspace, attempt.base or "HEAD")  # an attempt always records its base; HEAD is the last kept
            path = tree.__enter__()
        try:
            local = dataclasses.replace(agent, workspace=path) if hasattr(agent, "workspace") else agent
            request = {**context, "workspace": str(path), "plan": attempt.plan, "attempt": attempt.id}
            answer, event = ask(local, "implement", request, record_dir / att.PATCH_DIR, int(attempt.id[1:]))
            with git_lock:
                repo = vcs.open_repo(path)
                found = vcs.changes(repo, exclude=[record_rel])
                patch = vcs.diff_patch(repo, found.files) if found.files else b""
            if not found.files:
                return {"status": "failed", "error": "the agent's IMPLEMENT left the worktree unchanged",
                        "agent_event": event}
            return {"status": "implemented", "patch_bytes": patch, "files": found.files,
                    "summary": answer.get("summary"), "agent_event": event}
        finally:
            with git_lock:
                tree.__exit__(None, None, None)
    except AgentFailed as exc:
        return {"status": "failed", "error": f"the agent failed at IMPLEMENT: {exc}",
                "agent_event": exc.attempts[0] if exc.attempts else None}
    except Exception as exc:  # noqa: BLE001 - a worktree git refused, an agent's own crash: the attempt fails, the run goes on
        return {"status": "failed", "error": f"IMPLEMENT in a worktree failed: {type(exc).__name__}: {exc}"}


def apply_patch(repo, path: Path, sha: str | None) -> str | None:
    """Apply an attempt's patch to ``repo``'s working tree (three-way when it no longer applies as it is);
    the reason it cannot, or None.

    A three-way apply that conflicts leaves the conflicted paths unmerged (markers in the files, stages in the
    index) and the rest staged: the caller restores the tree (``ParallelRunner._apply``: ``vcs.restore``).
    """
    import hashlib

    import git

    data = path.read_bytes() if path.exists() else None
    if data is None or (sha and hashlib.sha256(data).hexdigest() != sha):
        return f"{path.name} is missing or not the patch the journal recorded"
    try:
        repo.git.apply("--whitespace=nowarn", str(path))
    except git.GitCommandError:
        try:
            repo.git.apply("--3way", "--whitespace=nowarn", str(path))
            repo.git.reset("-q")  # --3way stages; the campaign reads the working tree
        except git.GitCommandError as exc:
            return conflict_reason(exc.stderr or str(exc), unmerged_paths(repo))
    return None


def unmerged_paths(repo) -> list[str]:
    """The paths the index holds unmerged (a conflicted three-way apply), as git names them (``-z``: unquoted)."""
    from campaign import vcs

    return sorted(set(vcs.split_nul(repo.git.diff("--name-only", "--diff-filter=U", "-z"))))


def conflict_reason(stderr: str, unmerged: list[str] | None = None) -> str:
    """Why ``git apply --3way`` refused, in words (pure): the ``unmerged`` paths it left in conflict (read from the
    index), else git's last line.

    GitPython's stderr reads ``  stderr: '...'``: its last line alone would keep the closing quote.
    """
    if unmerged:
        return f"it conflicts with the kept code in {', '.join(unmerged)}"[:200]
    text = stderr.strip()
    if text.startswith("stderr:"):
        text = text[len("stderr:"):].strip()
    text = text.strip("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else "git apply refused it")[:200]
