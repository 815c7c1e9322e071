"""The tune's report: the recommendation from the measured configurations, and its text."""

from __future__ import annotations

from campaign.measure import stats
from campaign.tune import parallel_model
from campaign.tune import store as tune_store
from campaign.tune.hint import predicted
from campaign.tune.space import label


def _row(res: dict, fixed: dict, hint) -> dict:
    full = {**fixed, **res["searched"]}
    return {
        "knobs": res["searched"],
        "status": res["status"],
        "default": bool(res.get("is_default")),
        "time_s": res.get("time_s"),
        "speedup": res.get("speedup"),
        "ci": res.get("ci"),
        "verdict": res.get("verdict"),
        "blocks": res.get("blocks"),
        "predicted_speedup": 1.0 if res.get("is_default") and hint else predicted(hint, full),
        "cached": bool(res.get("cached")),
        "error": res.get("error"),
        "stopped": res.get("stopped"),
        **({"host": res["host"], "requeued": res.get("requeued") or []} if res.get("host") else {}),
    }


def _recommend(rows: list[dict], default: dict, best: dict | None) -> tuple[dict, dict, str]:
    """(chosen knobs, the winner's row, the recommendation): the best faster configuration, else the default."""
    if best is not None:
        chosen = dict(best["knobs"])
        return chosen, dict(best), (f"Use {label(chosen)}: {best['speedup']:.3f}x faster than the default "
                                    f"({label(default)}), {stats.describe_interval(best['ci'], best.get('ci_level'))}.")
    measured_best = max((r for r in rows[1:] if r["status"] == "ok" and r["speedup"]), default=None,
                        key=lambda r: r["speedup"])
    extra = (f" The best other configuration, {label(measured_best['knobs'])}, measured "
             f"{measured_best['speedup']:.3f}x ({stats.describe_interval(measured_best['ci'], measured_best.get('ci_level'))}, "
             f"{measured_best['verdict']}).") if measured_best else ""
    return dict(default), dict(rows[0]), (f"Keep the default ({label(default)}): no configuration beat it beyond "
                                          f"the noise." + extra)


def _efficiency(best: dict | None, workers_knob: str | None) -> float | None:
    """The winner's speedup per worker, where a knob sets the workers."""
    if not workers_knob or best is None:
        return None
    try:
        w = float(best["knobs"][workers_knob])
    except (TypeError, ValueError):
        return None
    return best["speedup"] / w if w > 0 else None


def _metrics(rows: list[dict], counters, total_s: float, rss_mb, eff: float | None) -> dict:
    """The tune's own numbers: what it measured, what the cache answered, what failed."""
    measured = counters.measured
    looked_up = counters.measured + counters.cache_hits
    n = len(rows)
    return {
        "total_s": total_s,
        "configurations": n,
        "measured": measured,
        "cache_hits": counters.cache_hits,
        "cache_hit_rate": counters.cache_hits / looked_up if looked_up else None,
        "new_runs": counters.runs,
        "time_per_configuration_s": total_s / n if n else None,
        "measure_s_per_measured": counters.measure_s / measured if measured else None,
        "pruned": sum(r["status"] == "pruned" for r in rows),
        "failed": sum(r["status"] in ("failed", "wrong") for r in rows),
        "timed_out": sum(r["status"] == "timeout" for r in rows),
        "stopped_early": sum(bool(r["stopped"]) and r["status"] == "ok" for r in rows),
        "peak_child_rss_mb": rss_mb if counters.runs else None,  # no fresh process: nothing to report
        "parallel_efficiency": eff,
    }


def build_report(req, proto, target, space, default, fixed, machine, env, configs, hint, counters, total_s, rss_mb,
                 study):
    """The report (plain JSON): every configuration, the recommendation and the tune's own metrics."""
    rows = [_row(res, fixed, hint) for res in configs]
    winners = [r for r in rows if not r["default"] and r["status"] == "ok" and r["verdict"] == "faster"]
    best = max(winners, key=lambda r: r["speedup"]) if winners else None
    workers_knob, _ = parallel_model.knob_roles(list(space))
    chosen, winner, recommendation = _recommend(rows, default, best)
    eff = _efficiency(best, workers_knob)
    winner["parallel_efficiency"] = eff
    return {
        "target": proto.target,
        "spec": proto.spec,
        "case": proto.case,
        "strategy": req.strategy,
        "preset": req.preset,
        "executor": "cluster" if req.cluster is not None else req.executor,
        "concurrency": req.concurrency,
        **({"cluster": req.cluster.address} if req.cluster is not None else {}),
        "space": space,
        "default": default,
        "fixed": fixed,
        "protocol": {"warm_repeats": proto.warm_repeats, "blocks": proto.blocks, "timeout_s": proto.timeout_s},
        "code_version": proto.code,
        "machine": dict(machine, key=proto.machine),
        "load_avg": env.get("load_avg"),
        "storage": tune_store.redact(proto.storage),
        "study": study,
        "hint": hint,
        "configs": rows,
        "winner": winner,
        "chosen": chosen,
        "improved": best is not None,
        "recommendation": recommendation,
        "metrics": _metrics(rows, counters, total_s, rss_mb, eff),
    }


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def format_table(report: dict) -> str:
    """The configurations as a Markdown table (measured numbers; prediction beside)."""
    lines = ["| configuration | status | time | speedup vs default | decisive interval (level) | verdict | predicted | source |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["configs"]:
        name = label(r["knobs"]) + (" (default)" if r["default"] else "")
        sp = f"{r['speedup']:.3f}x" if r.get("speedup") is not None else "-"
        ci = stats.describe_interval(r["ci"], r.get("ci_level")) if r.get("ci") else "-"
        pred = f"{r['predicted_speedup']:.2f}x" if r.get("predicted_speedup") is not None else "-"
        status = r["status"] + (f" ({r['stopped']})" if r.get("stopped") and r["status"] == "ok" else "")
        source = ("cache" if r["cached"] else "measured") + (f" on {r['host']['host']}" if r.get("host") else "")
        lines.append(f"| {name} | {status} | {_fmt_s(r.get('time_s'))} | {sp} | {ci} | {r.get('verdict') or '-'} "
                     f"| {pred} | {source} |")
    return "\n".join(lines)


def format_report(report: dict) -> str:
    m = report["metrics"]
    rate = f"{m['cache_hit_rate'] * 100:.0f}%" if m["cache_hit_rate"] is not None else "-"
    lines = [
        f"tune {report['target']}: strategy {report['strategy']}, preset {report['preset']}, case {report['case']}, "
        f"{report['protocol']['blocks']} blocks x {report['protocol']['warm_repeats']} warm repeats, "
        f"timeout {report['protocol']['timeout_s']:g} s per run",
        "",
        format_table(report),
        "",
        report["recommendation"],
    ]
    w = report["winner"]
    if report["improved"] and w.get("predicted_speedup") is not None:
        lines.append(f"Prediction vs measured: the parallel model predicted {w['predicted_speedup']:.2f}x, "
                     f"measured {w['speedup']:.3f}x.")
    if m.get("parallel_efficiency") is not None:
        lines.append(f"Parallel efficiency of the winner: {m['parallel_efficiency']:.2f} "
                     f"(serial time / (parallel time x workers)).")
    lines += [
        "",
        f"total {m['total_s']:.1f} s; {m['configurations']} configurations ({m['measured']} measured, "
        f"{m['cache_hits']} from cache, hit rate {rate}); {m['new_runs']} fresh runs; "
        f"{_fmt_s(m['time_per_configuration_s'])} per configuration; pruned {m['pruned']}, "
        f"failed {m['failed']}, timed out {m['timed_out']}; peak child memory "
        + (f"{m['peak_child_rss_mb']:.0f} MB" if m["peak_child_rss_mb"] is not None else "- (no fresh runs)"),
    ]
    if report.get("saved_as"):
        lines.append(f"saved as {report['saved_as']!r} (campaign tune --history {report['saved_as']})")
    return "\n".join(lines)
