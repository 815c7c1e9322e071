"""Before the code changes: PROFILE, THINK (the pre-registration) and PLAN."""

from __future__ import annotations


import click

from campaign.loop.step_fields import PLAN, THINK
from campaign.cli.common import dir_option, emit, json_option, quiet_option
from campaign.cli.common import user_errors as _errors
from campaign.cli.loop_common import live, name_option, next_line, open_campaign, times_text


# -- profile ------------------------------------------------------------------------


@click.command("profile")
@click.option("--lines", "lines", multiple=True, metavar="FUNC",
              help="Also line-profile FUNC ('module:function'; repeatable).")
@name_option
@quiet_option
@dir_option
@json_option
@_errors
def profile(lines, name, quiet, workspace, as_json):
    """PROFILE: phase times, top functions (cProfile) and, with --lines, line timings.

    Example: campaign profile --lines primes:count
    """
    from campaign.measure.profiling import format_lines

    with live(quiet) as say:
        result = open_campaign(workspace, name, say).profile(list(lines), say)

    def text(r):
        from campaign.loop.record import Profile

        profiled = Profile.from_json(r)  # the profile event's data, as the answer embeds it
        out = [f"profile before iteration {r['iteration']} (total {r['total_s'] or 0:.3f} s):"]
        for phase, share in sorted((r["shares"] or {}).items(), key=lambda kv: -(kv[1] or 0)):
            bound = profiled.bound(phase)
            out.append(f"  {phase:<24} {share:6.1%}   Amdahl bound {'inf' if bound is None else f'{bound:.2f}x'}")
        for fn in r["top_functions"][:8]:
            out.append(f"  top: {fn.get('function')} ({fn.get('file')}:{fn.get('line')}) self {fn.get('tottime', 0):.3f} s, "
                       f"cum {fn.get('cumtime', 0):.3f} s")
        out += format_lines(r.get("lines") or {})
        out += [f"note: {n}" for n in r.get("notes") or []]
        out += [f"warning: {w}" for w in r["warnings"]]
        return "\n".join(out + [next_line(r)])

    emit(result, as_json, text)


# -- think --------------------------------------------------------------------------


@click.command("think")
@click.option(THINK["hypothesis"].flag, default=None, help=THINK["hypothesis"].help)
@click.option(THINK["options"].flag, "options", multiple=True, help=THINK["options"].help)
@click.option(THINK["chosen"].flag, default=None, help=THINK["chosen"].help)
@click.option(THINK["predict"].flag, default=None, metavar="X", help=THINK["predict"].help)
@click.option(THINK["risk"].flag, default=None, help=THINK["risk"].help)
@name_option
@dir_option
@json_option
@_errors
def think(hypothesis, options, chosen, predict, risk, name, workspace, as_json):
    """THINK: pre-register the iteration before touching code (a numeric prediction is required).

    Example: campaign think --hypothesis "trial division is O(n sqrt n)" --option "sieve: O(n log log n), more
    memory" --option "cache primes: small win" --chosen "sieve" --predict 5x --risk "memory at full scale"
    """
    result = open_campaign(workspace, name).think(hypothesis, list(options), chosen, predict, risk)
    emit(result, as_json, lambda r: f"iteration {r['iteration']}: predicted {times_text(r['predicted_speedup'])} recorded\n" + next_line(r))


# -- plan ---------------------------------------------------------------------------


@click.command("plan")
@click.option(PLAN["phase"].flag, default=None, help=PLAN["phase"].help)
@click.option(PLAN["change"].flag, default=None, help=PLAN["change"].help)
@click.option(PLAN["bottleneck"].flag, default=None, help=PLAN["bottleneck"].help)
@click.option("--override-amdahl", default=None, metavar="REASON",
              help="Plan a phase whose share cannot reach the goal anyway (the reason is logged).")
@click.option("--function", default=None, metavar="FUNC",
              help="The profiled function the change attacks (func, Class.method, pkg.mod:func): its cumulative "
                   "share of the run, in whatever phases it runs, bounds the speedup (--phase then optional).")
@name_option
@dir_option
@json_option
@_errors
def plan(phase, change, bottleneck, override_amdahl, function, name, workspace, as_json):
    """PLAN: name the phase (or function) and the change (one the latest profile measured).

    Example: campaign plan --phase count --change "sieve of Eratosthenes" --bottleneck "is_prime: 95% of time"
    """
    result = open_campaign(workspace, name).plan(phase, change, bottleneck, override_amdahl, function)
    emit(result, as_json, lambda r: (
        f"iteration {r['iteration']}: plan on phase {r['phase']} recorded. IMPLEMENT now: edit files in scope "
        f"({', '.join(r['scope'])}).\n" + next_line(r)))
