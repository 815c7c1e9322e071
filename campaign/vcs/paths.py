"""The working tree's paths, pure (no git process): scope globs, junk, agent configuration, ``Changes``.

Byte-code caches (``__pycache__``, ``*.pyc``) are not changes; neither is agent
configuration (``AGENT_CONFIG_FILES``, ``AGENT_CONFIG_DIRS``): registering the
MCP server or installing the skill is not code under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

JUNK_PARTS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".campaign")  # .campaign: the tuner's cache
JUNK_SUFFIXES = (".pyc", ".pyo")
AGENT_CONFIG_FILES = (".mcp.json", "AGENTS.md", "CLAUDE.md")  # at the repository root
AGENT_CONFIG_DIRS = (".claude/", ".codex/")  # anywhere under these root folders


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


def split_nul(output: str) -> list[str]:
    """The paths of git's ``-z`` output (NUL-separated), empty ones dropped."""
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

