"""git at the edge (GitPython): tags, the campaign branch, commits, reverts, patches, snapshots.

Rules this package keeps:

* never destroy uncommitted user work: ``require_clean`` refuses a dirty tree
  (tracked changes or untracked, non-ignored files) before a campaign starts;
* a revert touches only the attempt's own paths (``Changes``) and never the
  record folder ``optim/<name>/``;
* byte-code caches (``__pycache__``, ``*.pyc``) are not changes;
* neither is agent configuration (``AGENT_CONFIG``: ``.mcp.json``, ``.claude/``,
  ``.codex/``, ``AGENTS.md``, ``CLAUDE.md``): registering the MCP server or
  installing the skill is not code under test, no reason to refuse a
  campaign, and never reverted.

One module per git concern: ``paths`` (pure: scope globs, junk, ``Changes``),
``repo`` (the repository, its changes, HEAD, commits), ``marks`` (the
campaign's refs, its branch, the merge back) and ``trees`` (patches,
restores, tested trees, the files of a commit). Callers import from here.
"""

from __future__ import annotations

from campaign.vcs.marks import (
    CAMPAIGN_REFS, branch_exists, campaign_ref, ensure_tag, finish_missing, is_ancestor, merge_into, move_tag,
    ref_path, switch_to_new_branch, tag_commit)
from campaign.vcs.paths import (
    AGENT_CONFIG_DIRS, AGENT_CONFIG_FILES, JUNK_PARTS, JUNK_SUFFIXES, Changes, git_dir, in_scope, is_agent_config,
    is_junk, scope_problem, split_nul)
from campaign.vcs.repo import (
    FALLBACK_IDENTITY, changes, commit_paths, commit_with_message, current_branch, head_commit, head_message,
    identity_env, open_repo, ref_name_problem, require_clean)
from campaign.vcs.trees import (
    blobs_at, diff_patch, files_at, restore, restore_missing, snapshot_scope, tree_diff, untested_changes,
    worktree_tree, write_patch)


__all__ = [
    "AGENT_CONFIG_DIRS", "AGENT_CONFIG_FILES", "CAMPAIGN_REFS", "FALLBACK_IDENTITY", "JUNK_PARTS", "JUNK_SUFFIXES",
    "Changes", "blobs_at", "branch_exists", "campaign_ref", "changes", "commit_paths", "commit_with_message",
    "current_branch", "diff_patch", "ensure_tag", "files_at", "finish_missing", "git_dir", "head_commit",
    "head_message", "identity_env", "in_scope", "is_agent_config", "is_ancestor", "is_junk", "merge_into",
    "move_tag", "open_repo", "ref_name_problem", "ref_path", "require_clean", "restore", "restore_missing",
    "scope_problem", "snapshot_scope", "split_nul", "switch_to_new_branch", "tag_commit", "tree_diff",
    "untested_changes", "worktree_tree", "write_patch",
]
