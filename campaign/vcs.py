"""git at the edge (GitPython): tags, the campaign branch, commits, reverts, patches, snapshots.

Rules this module keeps:

* never destroy uncommitted user work: ``require_clean`` refuses a dirty tree
  (tracked changes or untracked, non-ignored files) before a campaign starts;
* a revert touches only the attempt's own paths (``Changes``) and never the
  record folder ``optim/<name>/``;
* byte-code caches (``__pycache__``, ``*.pyc``) are not changes;
* neither is agent configuration (``AGENT_CONFIG``: ``.mcp.json``, ``.claude/``,
  ``.codex/``, ``AGENTS.md``, ``CLAUDE.md``): registering the MCP server or
  installing the skill is not code under test, no reason to refuse a
  campaign, and never reverted.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from campaign.errors import VcsError

JUNK_PARTS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".campaign")  # .campaign: the tuner's cache
JUNK_SUFFIXES = (".pyc", ".pyo")
AGENT_CONFIG_FILES = (".mcp.json", "AGENTS.md", "CLAUDE.md")  # at the repository root
AGENT_CONFIG_DIRS = (".claude/", ".codex/")  # anywhere under these root folders
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "campaign",
    "GIT_AUTHOR_EMAIL": "campaign@localhost",
    "GIT_COMMITTER_NAME": "campaign",
    "GIT_COMMITTER_EMAIL": "campaign@localhost",
}


def open_repo(workspace: Path):
    """The git repository whose root is ``workspace``; ``VcsError`` when there is none."""
    import git

    try:
        repo = git.Repo(str(workspace))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise VcsError(
            f"{workspace} is not a git repository. A campaign works on a git repo (it tags, branches, "
            f"commits and reverts): run `git init && git add -A && git commit -m baseline` there first, "
            f"or pass --dir pointing at the repository."
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise VcsError(
            f"{workspace} is a bare git repository (no working tree): a campaign edits, tests and measures files, "
            f"so it needs a checkout. Clone it (`git clone {workspace} work`) and run campaign in the clone."
        )
    if Path(repo.working_tree_dir).resolve() != Path(workspace).resolve():
        raise VcsError(
            f"{workspace} is inside the git repository {repo.working_tree_dir} but is not its root. "
            f"Run campaign with --dir {repo.working_tree_dir} (scope globs are relative to the root)."
        )
    return repo


def git_dir(workspace: Path) -> Path | None:
    """The repository's private folder (``.git``, or the folder a worktree's ``.git`` file names); no GitPython.

    The campaign keeps what the code under optimization and agents must not
    touch there (the journal's protected copy, the init lock): outside the
    work tree, never committed.
    """
    dot = Path(workspace) / ".git"
    if dot.is_dir():
        return dot
    try:
        text = dot.read_text()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    path = Path(text[len("gitdir:"):].strip())
    return path if path.is_absolute() else (Path(workspace) / path).resolve()


def scope_problem(globs: Iterable[str], files: Iterable[str]) -> str | None:
    """Why the scope ``globs`` are unusable for a repository holding ``files`` (pure), or None.

    A glob must stay inside the repository (no absolute path, no ``..``) and
    match at least one committed file: a scope that matches nothing lets the
    agent edit nothing, and one outside the repository is never reverted.
    """
    files = list(files)
    for glob in globs:
        text = str(glob).strip()
        parts = text.replace("\\", "/").split("/")
        if not text or text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", text) or ".." in parts:
            return (f"scope glob {text!r} points outside the repository: scope globs are relative to the "
                    f"repository root (e.g. 'src/*.py') and may not be absolute or contain '..'.")
        if not any(in_scope(path, [text]) for path in files):
            return (f"scope glob {text!r} matches no file in the repository (at HEAD): a campaign edits "
                    f"committed files; fix the glob (globs are relative to the root, '**' spans folders) or "
                    f"commit the files first.")
    return None


def _z(output: str) -> list[str]:
    return [p for p in output.split("\0") if p]


def is_junk(path: str) -> bool:
    parts = path.split("/")
    return any(p in JUNK_PARTS for p in parts) or path.endswith(JUNK_SUFFIXES)


def is_agent_config(path: str) -> bool:
    """A file an agent client or its user writes to configure the agent (never code under test)."""
    return path in AGENT_CONFIG_FILES or path.startswith(AGENT_CONFIG_DIRS)


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern:
    pattern = pattern.strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if pattern.endswith("/"):
        pattern += "**"
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def in_scope(path: str, globs: Iterable[str]) -> bool:
    """Does ``path`` (relative, '/'-separated) match one of the scope ``globs``? ``**`` spans folders."""
    return any(_glob_regex(g).match(path) for g in globs)


@dataclass
class Changes:
    """The working tree's changes against HEAD, without the record folder and caches."""

    tracked: list[str] = field(default_factory=list)  # modified, deleted or staged-new paths
    untracked: list[str] = field(default_factory=list)  # new, not ignored

    @property
    def files(self) -> list[str]:
        return sorted(set(self.tracked) | set(self.untracked))

    def outside(self, globs: Iterable[str]) -> list[str]:
        globs = list(globs)
        return [p for p in self.files if not in_scope(p, globs)]


def changes(repo, exclude: Iterable[str] = (), agent_config: bool = False) -> Changes:
    """Tracked and untracked changes vs HEAD, minus paths under the ``exclude`` prefixes, junk and (unless
    ``agent_config``) agent configuration."""
    prefixes = tuple(p.rstrip("/") + "/" for p in exclude)

    def keep(path: str) -> bool:
        return not is_junk(path) and not path.startswith(prefixes) and (agent_config or not is_agent_config(path))

    tracked = _z(repo.git.diff("HEAD", "--name-only", "-z", "--no-renames"))
    untracked = _z(repo.git.ls_files("--others", "--exclude-standard", "-z"))
    return Changes(sorted(p for p in tracked if keep(p)), sorted(p for p in untracked if keep(p)))


def require_clean(repo, exclude: Iterable[str] = ()) -> None:
    found = changes(repo, exclude)
    if found.files:
        listed = ", ".join(found.files[:8]) + (" ..." if len(found.files) > 8 else "")
        raise VcsError(
            f"the working tree of {repo.working_tree_dir} has uncommitted changes ({listed}). A campaign "
            f"reverts failed attempts and must never destroy your work: commit them (or add them to "
            f".gitignore) and run the command again."
        )


def ref_name_problem(*refs: str) -> str | None:
    """The first of ``refs`` (full names, ``refs/heads/...``) that git rejects, with git's rules; None if all pass.

    ``git check-ref-format`` is git's own judge (``..``, a trailing ``.``, ``.lock``, control characters, ...).
    """
    import subprocess

    for ref in refs:
        result = subprocess.run(["git", "check-ref-format", ref], capture_output=True, check=False)
        if result.returncode != 0:
            return ref
    return None


def current_branch(repo) -> str:
    if repo.head.is_detached:
        raise VcsError(
            f"{repo.working_tree_dir} has a detached HEAD. Check out the branch the campaign should "
            f"start from (`git switch main`) and run the command again."
        )
    return repo.active_branch.name


def head_commit(repo) -> str:
    try:
        return repo.head.commit.hexsha
    except ValueError:
        raise VcsError(
            f"{repo.working_tree_dir} has no commits yet. Commit the code to optimize first "
            f"(`git add -A && git commit -m baseline`)."
        ) from None


def head_message(repo) -> str:
    return repo.head.commit.message


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


def _identity_env(repo) -> dict[str, str]:
    reader = repo.config_reader()
    try:
        reader.get_value("user", "email")
        reader.get_value("user", "name")
        return {}
    except Exception:  # noqa: BLE001 - an unreadable config is an unset identity
        return {k: v for k, v in FALLBACK_IDENTITY.items() if k not in os.environ}


def commit_paths(repo, paths: Iterable[str], message: str) -> str:
    """Stage exactly ``paths`` (additions, edits, deletions) and commit them; returns the hash."""
    paths = list(paths)
    if paths:
        repo.git.add("-A", "--", *paths)
    repo.git.commit("-m", message, "--allow-empty", env=_identity_env(repo))
    return repo.head.commit.hexsha


def diff_patch(repo, paths: Iterable[str]) -> bytes:
    """The binary diff of ``paths`` (working tree vs HEAD, new files included) without touching the index."""
    paths = list(paths)
    if not paths:
        return b""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo.git.read_tree("HEAD", env=env)
        repo.git.add("-A", "--", *paths, env=env)
        return repo.git.diff("--cached", "--binary", "HEAD", env=env, stdout_as_string=False, strip_newline_in_stdout=False)


def write_patch(repo, paths: Iterable[str], dest: Path) -> str:
    """Write the diff of ``paths`` to ``dest``; returns its sha256."""
    data = diff_patch(repo, paths)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def restore(repo, found: Changes) -> None:
    """Put every changed path back as it is at HEAD; delete new untracked files. Nothing else."""
    root = Path(repo.working_tree_dir)
    if found.tracked:
        in_head = set(_z(repo.git.ls_tree("-r", "--name-only", "-z", "HEAD", "--", *found.tracked)))
        repo.git.reset("-q", "HEAD", "--", *found.tracked)  # unstage (index only, these paths only)
        if in_head:
            repo.git.checkout("HEAD", "--", *sorted(in_head))
        for path in set(found.tracked) - in_head:  # staged-new files
            _remove(root, path)
    for path in found.untracked:
        _remove(root, path)


def restore_missing(repo, prefix: str) -> list[str]:
    """Check out again the files under ``prefix`` that git tracks but the working tree lost; their paths."""
    missing = _z(repo.git.ls_files("--deleted", "-z", "--", prefix))
    if missing:
        repo.git.checkout("--", *missing)
    return missing


def _remove(root: Path, rel: str) -> None:
    path = root / rel
    try:
        path.unlink()
    except FileNotFoundError:
        return
    parent = path.parent
    while parent != root:
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent


def files_at(repo, commit: str) -> list[str]:
    """The files (blobs) of ``commit``: submodules (gitlinks) are not files of this repository and are left out."""
    files = []
    for entry in _z(repo.git.ls_tree("-r", "-z", commit)):
        meta, _, path = entry.partition("\t")
        if meta.split(" ")[1:2] == ["blob"]:
            files.append(path)
    return files


def worktree_tree(repo, paths: Iterable[str]) -> str:
    """The git tree of HEAD with ``paths`` as they are in the working tree (a temporary index; nothing staged).

    ``campaign try`` records it as the tree it tested, so LOG can later tell
    the tested change from anything that changed since.
    """
    paths = list(paths)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo.git.read_tree("HEAD", env=env)
        if paths:
            repo.git.add("-A", "--", *paths, env=env)
        return repo.git.write_tree(env=env)


def tree_diff(repo, a: str, b: str) -> list[str]:
    """Paths that differ between two trees (or commits)."""
    return sorted(_z(repo.git.diff_tree("-r", "--name-only", "-z", "--no-renames", a, b)))


def untested_changes(repo, tested_tree: str, exclude: Iterable[str] = (), partial_revert: bool = False) -> list[str]:
    """Paths whose working-tree state is not the ``tested_tree`` (without the record folder and caches).

    With ``partial_revert`` a path already back at HEAD counts as tested (a
    revert interrupted halfway restored it); anything else - an edit to
    another file, a new file, a further edit to a tested file - is the
    user's work, which LOG must neither commit nor revert.
    """
    found = changes(repo, exclude)
    now = worktree_tree(repo, found.files)
    differing = [p for p in tree_diff(repo, tested_tree, now) if not is_junk(p)]
    if partial_revert:
        moved = set(tree_diff(repo, "HEAD", now))
        differing = [p for p in differing if p in moved]
    return differing


def snapshot_scope(repo, commit: str, dest: Path, scope: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Copy the files in ``scope`` as they are at ``commit`` into ``dest``; returns their paths.

    ``exclude`` holds path prefixes left out (the record folders under optim/).
    """
    scope, exclude = list(scope), tuple(exclude)
    copied = []
    for path in files_at(repo, commit):
        if not in_scope(path, scope) or path.startswith(exclude):
            continue
        data = repo.git.show(f"{commit}:{path}", stdout_as_string=False, strip_newline_in_stdout=False)
        out = Path(dest) / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        copied.append(path)
    return copied


def blobs_at(repo, commit: str, exclude: Iterable[str] = ()) -> list[tuple[str, bytes, int]]:
    """Every file at ``commit`` as ``(path, bytes, git mode)``, sorted; ``exclude``: path prefixes left out.

    Submodules are left out (their files are not in this repository); a
    symbolic link keeps git's mode 0o120000, its bytes being the link's target.
    """
    exclude = tuple(exclude)
    out = []
    for item in repo.commit(commit).tree.traverse():
        if item.type != "blob" or item.path.startswith(exclude):
            continue
        out.append((item.path, item.data_stream.read(), item.mode))
    return sorted(out)


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
        repo.git.merge("--no-ff", "-m", message, branch, env=_identity_env(repo))
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


def commit_with_message(repo, prefix: str, since: str | None) -> str | None:
    """The commit on HEAD's first-parent line after ``since`` whose message starts with ``prefix``."""
    for commit in repo.iter_commits("HEAD", first_parent=True, max_count=50):
        if since and commit.hexsha == since:
            return None
        if commit.message.startswith(prefix):
            return commit.hexsha
    return None
