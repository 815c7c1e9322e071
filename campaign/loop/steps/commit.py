"""COMMIT (or REVERT): what LOG decided, carried out on the campaign branch.

A kept iteration becomes one commit (the change plus the record, its patch
renamed ``iter-NN-kept.patch``); a rejected one is reverted to the last kept
commit, its diff kept as ``iter-NN-reverted.patch`` and the reason recorded
(out-of-scope, test-failed, slower, memory, not-faster). Refuses to act off the
campaign branch, and on a working tree that is not the tree ``campaign try``
tested (``loop/tested_tree.py``: other work appeared meanwhile; nothing is
committed or reverted then, the files are named). Idempotent: ``complete_pending`` runs before every step, so
a LOG interrupted before its commit or revert is finished by the next
command, and a commit already made is found by its message on HEAD's line.
Each commit or revert is followed by the record's own commit
(``loop/record_commits.py``: the ``commit`` event cannot be in the commit it
names), so ``git status`` is clean after LOG; a kill between the two is
completed the same way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from campaign.loop import machine
from campaign.loop.machine import Step
from campaign.loop.tested_tree import require_tested_tree, revert_tested

if TYPE_CHECKING:  # the context calls complete_pending in every step: no runtime import back
    from campaign.loop.steps.context import CampaignContext


def complete_pending(ctx: CampaignContext, state: machine.State) -> machine.State:
    """Finish a LOG whose commit or revert was interrupted, then the record's own commit (idempotent)."""
    if state.step in (Step.COMMIT, Step.REVERT):
        from campaign.loop import git_guard

        ctx.require_branch(state)
        git_guard.check(ctx, state)  # git moved since LOG's own check: commit or revert on nothing foreign
    if state.step is Step.COMMIT:
        commit_kept(ctx, state)
    elif state.step is Step.REVERT:
        revert(ctx, state)
    else:
        commit_record(ctx, state)  # a command killed between the commit (or revert) and the record's commit
        return state
    state = ctx.state()
    commit_record(ctx, state)
    return state


def commit_record(ctx: CampaignContext, state: machine.State) -> str | None:
    """The record's own commit after a ``commit`` or ``revert`` event (``loop/record_commits.py``): a clean tree."""
    from campaign.loop.record_commits import commit_due

    return commit_due(ctx, state.init.branch if state.init else None)


def final_patch(ctx: CampaignContext, it: machine.Iteration, outcome: str) -> str | None:
    """Rename the attempt's patch to say how it ended (``kept`` or ``reverted``)."""
    src_rel = it.implement.patch if it.implement else None
    if not src_rel:
        return None
    dest_rel = f"patches/iter-{it.n:02d}-{outcome}.patch"
    src, dest = ctx.record_dir / src_rel, ctx.record_dir / dest_rel
    if src.exists() and src != dest:
        os.replace(src, dest)
    elif not dest.exists():  # deleted since `try` (an agent, a stash): the tree still holds the tested change
        _rewrite_patch(ctx, it, dest)
    return dest_rel


def _rewrite_patch(ctx: CampaignContext, it: machine.Iteration, dest) -> None:
    """Write the attempt's diff again from the working tree when it is byte for byte the one ``try`` recorded."""
    import hashlib

    from campaign import vcs

    implement = it.implement or {}
    data = vcs.diff_patch(ctx.repo, implement.get("files") or [])
    if hashlib.sha256(data).hexdigest() == implement.get("patch_sha256"):
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


def commit_kept(ctx: CampaignContext, state: machine.State) -> None:
    from campaign import vcs

    it = state.current
    bench = it.benchmark or {}
    ci = bench.get("ci") or [None, None]
    title = " ".join(it.title.split())[:72]
    ci_text = ""
    if ci[0] is not None and ci[1] is not None:
        from campaign.measure.stats import format_level

        level = bench.get("ci_level")
        if bench.get("ci_kind") == "range":
            ci_text = f", every block {ci[0]:.2f}-{ci[1]:.2f}"
        else:
            ci_text = f", {format_level(level)} CI {ci[0]:.2f}-{ci[1]:.2f}" if level else f", interval {ci[0]:.2f}-{ci[1]:.2f}"
    message = f"campaign {ctx.name} iter {it.n}: {title} ({(it.speedup or 0):.2f}x{ci_text})"
    repo = ctx.repo
    sha = vcs.commit_with_message(repo, f"campaign {ctx.name} iter {it.n}:", state.last_kept_commit)
    if sha is None:  # not committed yet: the tree to commit must be the tested one, nothing more
        require_tested_tree(repo, it.implement, ctx.record_rel, "commit")
    patch = final_patch(ctx, it, "kept")
    ctx.render_files()
    if sha is None:
        found = vcs.changes(repo, exclude=[ctx.record_rel])
        sha = vcs.commit_paths(repo, found.files + [ctx.record_rel], message)
    ctx.record_event("commit", {"commit": sha, "message": message, "patch": patch}, it.n)


def revert(ctx: CampaignContext, state: machine.State) -> None:
    it = state.current
    test, bench = it.test or {}, it.benchmark or {}
    if test.get("out_of_scope"):
        reason = "out-of-scope"
    elif not test.get("passed"):
        reason = "test-failed"
    elif bench.get("verdict") == "slower":
        reason = "slower"
    elif it.log and it.log.memory_refused:
        reason = "memory"  # faster, but its peak memory passed the limit with no --accept-memory
    else:
        reason = "not-faster"
    repo = ctx.repo
    require_tested_tree(repo, it.implement, ctx.record_rel, "revert")
    patch = final_patch(ctx, it, "reverted")
    revert_tested(repo, it.implement, ctx.record_rel)
    ctx.record_event("revert", {"to_commit": state.last_kept_commit, "reason": reason, "patch": patch}, it.n)
