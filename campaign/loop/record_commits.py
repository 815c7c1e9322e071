"""The record's own commits: the tree is clean after every step that commits or reverts.

A kept iteration's commit (and init's start commit) holds the code and the
record up to then, but not the ``commit`` event that names it: a commit
cannot contain its own hash. So right after that event (and after a
``revert`` event) the record folder is committed alone, in a commit of its
own (``campaign <name>: the record of iter 3 (kept)``), and ``git status``
shows nothing between steps.

These commits carry no code. The journal never names one (it names the code
commits, so ``last_kept_commit``, the tags and ``replay`` still point at
code); the git guard accepts them on top of the last kept commit
(``code_head``: HEAD without the record commits above it), and so does
FINISH's account of the branch; BENCHMARK measures the journal's commits,
never these; FINISH's merge takes the code only. Recognised by both their
subject and touching nothing but the record folder: a commit with that
subject that touches code is not one.

Kill-safe: the journal is the source of truth. When its last event is
``commit`` or ``revert`` and the record differs from HEAD, the record commit
is due; ``commit_due`` makes it, and every step runs it first (through
``complete_pending``), so a command killed between the two commits is
completed by the next one.
"""

from __future__ import annotations

from typing import Any

RECORD_SUBJECT = "campaign {name}: the record"  # every record commit's subject starts so
MAX_WALK = 500  # record commits looked through above a commit (one per revert in a row, two per iteration at most)


def _git(repo, *args: str) -> str:
    try:
        return repo.git.execute(["git", *args], with_extended_output=False)
    except Exception:  # noqa: BLE001 - a missing commit or no repository: nothing to peel
        return ""


def message_for(name: str, event: dict[str, Any]) -> str:
    """The record commit's message after ``event`` (a ``commit`` or ``revert``; the start commit has no iteration)."""
    n = event.get("iteration")
    if n is None:
        return f"{RECORD_SUBJECT.format(name=name)} of the start"
    outcome = "kept" if event.get("type") == "commit" else "reverted"
    return f"{RECORD_SUBJECT.format(name=name)} of iter {n} ({outcome})"


def is_record_commit(subject: str, files: list[str], parents: int, name: str, record_rel: str) -> bool:
    """A record commit: its subject, one parent, and nothing touched outside ``record_rel`` (pure)."""
    folder = record_rel.rstrip("/") + "/"
    return (subject.startswith(RECORD_SUBJECT.format(name=name)) and parents == 1
            and all(f.startswith(folder) for f in files))


def _line(repo, head: str) -> list[tuple[str, int, str]]:
    """HEAD's first-parent line, newest first: (commit, number of parents, subject); no diffs (cheap)."""
    out = _git(repo, "log", "--first-parent", f"--max-count={MAX_WALK}", "--format=%H%x00%P%x00%s", head)
    rows = [(line.split("\x00") + ["", ""])[:3] for line in out.splitlines() if line]
    return [(sha, len(parents.split()), subject) for sha, parents, subject in rows]


def _touched(repo, shas: list[str]) -> dict[str, list[str]]:
    """The paths each of ``shas`` changes against its parent (one ``git log --no-walk`` for all)."""
    if not shas:
        return {}
    out = _git(repo, "log", "--no-walk=unsorted", "--format=%x01%H", "--name-only", "--no-renames", *shas)
    found: dict[str, list[str]] = {}
    for block in out.split("\x01")[1:]:
        sha, _, rest = block.partition("\n")
        found[sha.strip()] = [f for f in rest.splitlines() if f]
    return found


def _record_run(repo, commits: list[tuple[str, int, str]], name: str, record_rel: str) -> int:
    """How many of ``commits``, from the first on, are record commits."""
    subject_ok = 0
    for _, parents, subject in commits:
        if not (subject.startswith(RECORD_SUBJECT.format(name=name)) and parents == 1):
            break
        subject_ok += 1
    touched = _touched(repo, [sha for sha, _, _ in commits[:subject_ok]])
    for n, (sha, parents, subject) in enumerate(commits[:subject_ok]):
        if sha not in touched or not is_record_commit(subject, touched[sha], parents, name, record_rel):
            return n
    return subject_ok


def code_head(repo, name: str, record_rel: str, head: str | None = None) -> str | None:
    """``head`` (HEAD by default) without the record commits above it: the commit whose code the tree holds."""
    head = head or _git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
    if not head:
        return None
    line = _line(repo, head)
    run = _record_run(repo, line, name, record_rel)
    return line[run][0] if run < len(line) else head


def record_tip(repo, name: str, record_rel: str, base: str, head: str | None) -> str:
    """The last of the record commits on top of ``base`` on the way to ``head`` (``base`` when none)."""
    line = _line(repo, head) if head else []
    shas = [sha for sha, _, _ in line]
    if base not in shas:
        return base
    above = list(reversed(line[:shas.index(base)]))  # oldest first
    run = _record_run(repo, above, name, record_rel)
    return above[run - 1][0] if run else base


def record_changed(repo, record_rel: str) -> bool:
    """The record folder differs from HEAD (a new, edited or deleted file; git-ignored ones do not count)."""
    return bool(_git(repo, "status", "--porcelain", "--untracked-files=all", "--", record_rel).strip())


def commit_record(repo, record_rel: str, message: str) -> str | None:
    """Commit the record folder alone (whatever else is staged stays staged); the commit, or None if unchanged.

    Without the repository's hooks: the record is the campaign's own output (a formatter hook that rewrote
    the journal would make it disagree with its protected copy), and the code they would check is not in it.
    """
    from campaign import vcs

    if not record_changed(repo, record_rel):
        return None
    repo.git.add("-A", "--", record_rel)
    repo.git.commit("-q", "--no-verify", "-m", message, "--", record_rel, env=vcs.identity_env(repo))
    return repo.head.commit.hexsha


def due_after(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The event a record commit is due after: the journal's last one, when it is a ``commit`` or ``revert`` (pure)."""
    last = events[-1] if events else None
    return last if last is not None and last.get("type") in ("commit", "revert") else None


def commit_due(ctx, branch: str | None) -> str | None:
    """Make the record commit the journal's last event calls for, on ``branch`` (the campaign's) only, when the
    record differs from HEAD; the commit, or None (idempotent)."""
    event = due_after(ctx.journal.events())
    if event is None or not branch:
        return None
    repo = ctx.repo
    if repo.head.is_detached or repo.active_branch.name != branch:
        return None  # never elsewhere: the step's own branch check says so
    return commit_record(repo, ctx.record_rel, message_for(ctx.name, event))
