"""The journal's event types: the campaign's data model.

Every line of ``optim/<name>/journal.jsonl`` is one self-contained JSON object::

    {"schema": 1, "seq": 7, "ts": "2026-11-23T04:30:00.123456+00:00",
     "type": "think", "iteration": 1, "data": {...}}

``seq`` counts from 1 without gaps; ``iteration`` is null for campaign-level
events. The journal is append-only and the single source of truth: status,
logs, decisions, review and replay are all derived from it.

Read, each line becomes a frozen dataclass of ``campaign.loop.record`` (one
class per type below, loaded by the envelope's ``schema``); what an iteration
amounts to is ``campaign.loop.state.IterationSummary``.

Event types and the keys of their ``data`` (all keys always present; use
null for "not applicable"). Their types are JSON Schemas in
``campaign.loop.event_schemas``, checked on every read and append:

init        name, target_spec, target (Target.describe()), goal_speedup,
            max_iterations, min_gain (0.05), postmortem_factor, start_branch,
            branch, pre_tag, base_commit, workspace (absolute path at init),
            warnings [str] (e.g. the workload reports no outputs: TEST
            checks nothing; absent in older journals)
baseline    commit, dirty, case, outputs, phases {name: s}, warm_s (median),
            first_call_s, compile_s, environment {...}, snapshot (relative
            path of the baseline snapshot: every tracked file at the base
            commit except optim/, so replay can rebuild the workspace)
profile     (iteration: the one it prepares)
            commit, case, phases {name: s}, shares {name: fraction},
            amdahl {name: best whole-run speedup by that phase alone},
            total_s, top_functions [{file, line, function, ncalls, tottime,
            cumtime}], lines {func: [{line, hits, time_s, source}]}
think       hypothesis, options [str], chosen, predicted_speedup (float > 0),
            risk
plan        phase, change, bottleneck, phase_share, amdahl_bound,
            override (reason string when the Amdahl warning was overridden)
implement   files [paths changed], tree (the git tree TEST tested: HEAD
            plus these changes; LOG commits or reverts exactly it; absent
            in older journals), patch (relative path under the record:
            patches/iter-NN.patch at try time; LOG renames it to
            patches/iter-NN-kept.patch or -reverted.patch, same bytes and
            sha256, and records the new path as `patch` in the commit/revert
            event: read that one when present), patch_sha256, out_of_scope
            [paths], agent (who made the change)
test        passed, failures [{output, expected, actual, tolerance, message,
            case}], test_command {cmd, rc, passed, tail, stderr, failed_tests
            [{name, message}]} or null,
            out_of_scope [paths], cases [the workload cases checked]
benchmark   case, verdict (faster|slower|same|inconclusive), speedup
            (vs last kept), ci [lo, hi], vs_baseline {speedup, ci},
            cumulative_speedup, phases {name: speedup}, candidate {warm_s,
            first_call_s, compile_s, max_rss_kb (peak RSS, median over
            processes)}, reference {same}, metric ("wall" or
            "instructions"), blocks, samples {a: [...], b: [...]},
            full (the same object for the full-scale case, or null),
            environment; also noise_floor, min_effect, notes [str] and
            vs_baseline.verdict (from campaign.measure.bench); since the
            t-interval rule: ci_level (the level of ci; null when ci is
            not a confidence interval) and ci_kind ("ci" or "range": an
            overwhelming win's block range), the same in vs_baseline and
            full; noise {run_noise, block_sd, drift}, load {blocks [{load,
            cpus, steal, busy}], note}, stop_reason, needed (str or null),
            blocks_needed, seconds_needed, block_cost, policy (what LOG
            does with same/inconclusive)
log         surprise (non-empty; "None" allowed), notes, postmortem
            {why, lesson} or null, kept (bool), keep_reason (str or null),
            memory {before_kb, after_kb, ratio, limit, over_limit, accepted
            (the --accept-memory reason or null), refused (reverted for
            it)} or null (campaign.measure.memory)
commit      commit (hex), message, patch (patches/iter-NN-kept.patch; null for
            the start commit, whose iteration is null)
revert      to_commit, reason (test-failed|slower|not-faster|out-of-scope|
            memory|agent-failed), patch
decide      stop (bool), rule (goal|budget|diminishing|cap|exhausted|declared|none),
            reason, exhausted (bool: `decide --exhausted`), phase (the phase
            declared exhausted, or null), why (the --why text of
            --exhausted or --stop, or null), cumulative_speedup; rule
            `declared` is `decide --stop --why T` (iteration null between
            iterations)
skip        bottleneck, why, failed_attempts
tune        knobs {name: value}, report {...} (a tuning run inside an iteration)
agent       step, request (relative path), answer (relative path), attempts,
            error (null or the last validation error), stderr (relative path),
            reply (relative path of the agent's raw text, when it answered in text),
            usage (what the exchange cost as the agent reported it, or null:
            input_tokens, cached_input_tokens, output_tokens, cost_usd, source)
run         agent (playbook|command|claude|codex|aider|prompt), agent_cmd (or
            null), agent_timeout_s, resumed (bool), budget_usd, budget_tokens
            (or null), pid, started (the run's
            process and its start time): who `campaign run` drives the
            campaign with; written right after init and at every resume
validate    (campaign-level, written by FINISH before the merge) case, commit
            (the tree checked: the last kept commit), passed, failures
            [{output, expected, actual, tolerance, message, case}],
            test_command {cmd, rc, passed, tail} or null: the full case's
            TEST against the baseline's outputs. Failed: THINK is due (fix it
            in a new iteration, whose TEST includes the full case); passed:
            FINISH goes on
finish      post_tag, merged_into, final_speedup, ci, full (benchmark of the
            full case vs the pre-optimization tag), dominant_phase,
            validation ({case, commit, passed}: the full-case TEST that
            preceded it; absent in records made before FINISH checked outputs)
"""

from __future__ import annotations

SCHEMA_VERSION = 1

EVENT_TYPES = (
    "init",
    "baseline",
    "profile",
    "think",
    "plan",
    "implement",
    "test",
    "benchmark",
    "log",
    "commit",
    "revert",
    "decide",
    "skip",
    "tune",
    "agent",
    "run",
    "validate",
    "finish",
)

VERDICTS = ("faster", "slower", "same", "inconclusive")
