"""``campaign tune``: search a target's knobs (wiring only; the work is in ``campaign.tune``)."""

from __future__ import annotations

import click

from campaign.cli.common import CampaignError, dir_option, emit, json_option


@click.command("tune")
@click.argument("target", required=False)
@click.option("--knob", "knobs", multiple=True, metavar="NAME=V1,V2,...",
              help="A knob and the values to try (repeatable). Default: every knob the target declares.")
@click.option("--strategy", type=click.Choice(["grid", "quick", "smart"]), default="quick", show_default=True,
              help="grid: every combination; quick: one knob at a time from the default, then the best "
                   "combination; smart: Optuna TPE with pruning, warm-started from earlier results.")
@click.option("--preset", type=click.Choice(["fast", "balanced", "thorough"]), default="fast", show_default=True,
              help="Data and repeats per configuration: fast (fast case, smallest subsample, 3 blocks), "
                   "balanced (8 blocks), thorough (full case, 12 blocks); see docs/tuning.md.")
@click.option("--timeout-per-config", "timeout_s", type=float, default=None,
              help="Seconds allowed for each run of a configuration; past it the process tree is killed and the "
                   "configuration is recorded as timed out. Default: the target's timeout.")
@click.option("--executor", type=click.Choice(["process", "thread"]), default="process", show_default=True,
              help="How concurrent trials run when --concurrency > 1: separate processes, or threads that "
                   "launch the workload processes.")
@click.option("--concurrency", type=int, default=1, show_default=True,
              help="Configurations measured at once. Keep 1 on a small machine: concurrent trials disturb "
                   "each other's timings.")
@click.option("--cluster", default=None, metavar="SCHEDULER",
              help="Measure each trial whole on one host of a Dask cluster (a scheduler address or scheduler file), "
                   "as `campaign run --cluster` does its attempts: one trial at a time per host, one per worker at "
                   "once. See docs/scaling.md.")
@click.option("--trials", type=int, default=None, help="smart: configurations to measure (default: the preset's).")
@click.option("--case", default=None, help="Workload case (default: the preset's: fast or full).")
@click.option("--storage", default=None, metavar="URL", envvar="CAMPAIGN_TUNE_STORAGE", show_envvar=True,
              help="Database URL for the cache, history and Optuna study (default: sqlite .campaign/tune.sqlite "
                   "in the workspace). Workers on several machines share one study through one server: "
                   "postgresql://user:password@host/db (the environment variable keeps the password out of ps).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the TPE sampler and the block orders.")
@click.option("--no-hint", is_flag=True, help="Skip the analytical parallel-map dry run.")
@click.option("--refresh", is_flag=True, help="Re-measure every configuration even when the cache holds it.")
@click.option("--save", default=None, metavar="NAME", help="Save the report under NAME (see --history).")
@click.option("--history", "show_history", is_flag=True,
              help="List saved tunes; with TARGET given as a NAME, compare the runs saved under it.")
@click.option("--record", is_flag=True,
              help="Record this tune as the measurement of the campaign iteration in --dir (after THINK and PLAN): "
                   "THINK's prediction is compared with the tuned speedup; then set the chosen values and `campaign try`.")
@click.option("--quiet", "-q", is_flag=True,
              help="No progress on stderr (by default: a live line of what runs, elapsed and ETA; NO_COLOR honoured).")
@dir_option
@json_option
def tune(target, knobs, strategy, preset, timeout_s, executor, concurrency, cluster, trials, case, storage, seed, no_hint,
         refresh, save, show_history, record, quiet, workspace, as_json):
    """Find the fastest knob values of TARGET (measured against its default, n_jobs=1 style).

    Example: campaign tune weight_search --knob n_jobs=1,2 --strategy grid
    """
    from campaign.errors import UserError
    from campaign.tune import core as tuning
    from campaign.tune import history as saved
    from campaign.tune.report import format_report

    try:
        if show_history:
            data = saved.history(workspace, storage, target)
            emit(dict(data, ok=True), as_json, saved.format_history)
            return
        if not target:
            raise CampaignError("name the TARGET to tune (e.g. `campaign tune weight_search --knob n_jobs=1,2`), "
                                "or use --history to list saved tunes.")
        req = tuning.TuneRequest(
            spec=target, workspace=workspace, knobs=list(knobs) or None, strategy=strategy, preset=preset,
            timeout_s=timeout_s, executor=executor, concurrency=concurrency, case=case, storage=storage,
            save=save, seed=seed, trials=trials, hint=not no_hint, refresh=refresh,
        )
        with _cluster(cluster) as req.cluster, _progress(quiet or as_json) as progress:
            if record:
                result = _record_in_campaign(req, workspace, progress)
            else:
                report = tuning.tune(req, progress)
    except UserError as exc:  # a TuneError, or --cluster without Dask distributed
        raise CampaignError.from_user_error(exc) from None
    if record:
        emit(dict(result, ok=True), as_json, _recorded_text)
    else:
        emit(dict(report, ok=True), as_json, format_report)


def _cluster(address: str | None):
    """The Dask cluster the trials run on (``campaign.scale.cluster``), closed after the tune; or none."""
    import contextlib

    if not address:
        return contextlib.nullcontext(None)
    from campaign.scale.cluster import Cluster

    return contextlib.closing(Cluster(address))


def _progress(silent: bool):
    """The live progress on stderr (rich), or none for --quiet and --json."""
    import contextlib

    if silent:
        return contextlib.nullcontext(None)
    from campaign.cli.tune_progress import TuneProgress

    return TuneProgress()


def _record_in_campaign(req, workspace, progress) -> dict:
    """A tune as one iteration of the loop: THINK predicted, the tune measures, the event is journaled."""
    from campaign.errors import UserError
    from campaign.tune import core as tuning
    from campaign.loop.session import Campaign

    try:
        camp = Campaign.open(workspace)
        result = camp.record_tune(req.spec, lambda predicted: tuning.tune_for_iteration(
            req.spec, req.workspace, req.knobs, strategy=req.strategy, preset=req.preset,
            predicted_speedup=predicted, progress=progress, timeout_s=req.timeout_s, case=req.case,
            storage=req.storage, seed=req.seed, trials=req.trials, hint=req.hint, refresh=req.refresh,
            executor=req.executor, concurrency=req.concurrency, save=req.save, cluster=req.cluster))
    except UserError as exc:
        raise CampaignError.from_user_error(exc) from None
    return result


def _recorded_text(r: dict) -> str:
    from campaign.tune.report import format_report

    pred = r["report"].get("prediction") or {}
    return (format_report(r["report"]) + f"\n\nrecorded in iteration {r['iteration']}: chosen {r['knobs']} "
            f"(predicted {pred.get('predicted_speedup')}x, measured {pred.get('measured_speedup')}x). "
            f"Set these values as the defaults in the scope, then run `campaign try`.")
