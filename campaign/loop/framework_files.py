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


def measurement_excludes(record_rel: str) -> tuple[str, ...]:
    """The paths whose changes do not change what a measurement runs: the record and the framework files."""
    return (record_rel, *FRAMEWORK_FILES)


def added_framework_files(repo, base_commit: str, branch: str) -> list[str]:
    """The framework files ``branch`` holds that ``base_commit`` did not (a project's own AGENTS.md is its own)."""
    from campaign import vcs

    before, now = set(vcs.files_at(repo, base_commit)), set(vcs.files_at(repo, branch))
    return [f for f in FRAMEWORK_FILES if f in now and f not in before]
