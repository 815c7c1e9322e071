"""The steps of the loop, one module each: open the one named after the step.

    init.py        INIT       tag, branch, baseline, AGENTS.md, start commit (and --resume)
    profile.py     PROFILE    phase timings, top functions, Amdahl bounds
    think.py       THINK      the pre-registration: hypothesis, options, numeric prediction
    plan.py        PLAN       the phase to attack, checked against the profile (Amdahl)
    try_change.py  TRY        IMPLEMENT captured, then TEST, then BENCHMARK (``campaign try``)
    testing.py     TEST       outputs vs the baseline's, within tolerances; the target's tests
    benchmark.py   BENCHMARK  candidate vs last kept (a faster one then vs baseline), interleaved; budgets
    log.py         LOG        Surprise, postmortem, the keep-or-revert decision
    commit.py      COMMIT     the kept commit or the revert, completed after an interruption
    decide.py      DECIDE     the stopping rules; SKIP a bottleneck after 3 failed attempts
    finish.py      FINISH     full case vs baseline, post-optimization tag, merge
    status.py      STATUS     where the campaign stands, from the journal alone
    context.py     the campaign every step works on: record, journal, lock, target, git

Each step is a function over a ``CampaignContext``; ``campaign.loop.session.Campaign``
is the facade with one method per step. Each module's docstring says what the
step does and what it refuses.
"""
