"""The files a running campaign adds to the user's tree besides its record: one list for every step.

``init`` writes them (when the project has none of its own), the benchmark's
content key leaves them out (they change nothing that runs, so the baseline
and the start commit are one variant, measured once), and ``finish`` takes
them off the branch it merges into: they tell an agent that a campaign is
running, which is no longer true, and they must not ship in the user's
sdist.
"""

from __future__ import annotations

AGENTS_MD = "AGENTS.md"
SKILL_MD = "SKILL.md"
FRAMEWORK_FILES: tuple[str, ...] = (AGENTS_MD, SKILL_MD)
RETIRE_SUFFIX = "leave with the finished campaign"  # FINISH's commit that removes them (git_guard accounts for it)


def measurement_excludes(record_rel: str) -> tuple[str, ...]:
    """The paths whose changes do not change what a measurement runs: the record and the framework files."""
    return (record_rel, *FRAMEWORK_FILES)


def retire(repo, base_commit: str, name: str) -> str | None:
    """Commit the removal of the framework files the campaign added (absent at ``base_commit``); the commit, or None.

    FINISH calls it on the campaign branch after the post-optimization mark and
    before the merge: the user's branch then holds the code change and no
    instructions for a campaign that is over. A file the project had before
    (its own AGENTS.md) is the project's and stays.
    """
    from campaign import vcs

    before = set(vcs.files_at(repo, base_commit))
    added = [f for f in FRAMEWORK_FILES if f not in before and f in set(vcs.files_at(repo, "HEAD"))]
    if not added:
        return None
    from pathlib import Path

    for rel in added:
        Path(repo.working_tree_dir, rel).unlink(missing_ok=True)
    return vcs.commit_paths(repo, added, f"campaign {name}: {' and '.join(added)} {RETIRE_SUFFIX}")
