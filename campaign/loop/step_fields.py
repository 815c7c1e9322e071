"""What each field of THINK and PLAN means, said once. Pure data.

The CLI's ``--help``, the MCP tools' input schemas, the agents' answer
templates, the suggested next command (``status``, MCP ``call``) and the
steps' refusals all read these, so they cannot drift apart: each field has a
``help`` (what it is, one sentence) and a ``placeholder`` (what to write in
its place, in a suggested command or a template).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepField:
    name: str  # the argument and JSON key
    flag: str  # the CLI option
    help: str  # what it is: --help, the MCP schema, a refusal
    placeholder: str  # what to write there: suggested commands, answer templates


# THINK's options come two at least: the placeholders of the first and the second, in that order
OPTION_PLACEHOLDERS = ("<approach A: pros/cons>", "<approach B: pros/cons>")

THINK = {f.name: f for f in (
    StepField("hypothesis", "--hypothesis", "What limits performance, and why (from the profile).",
              "<what limits performance, and why>"),
    StepField("options", "--option", "The approaches considered, each with pros/cons (2-3; the flag once per "
              "approach).", OPTION_PLACEHOLDERS[0]),
    StepField("chosen", "--chosen", "The approach you pick, and why.", "<the approach you pick, and why>"),
    StepField("predict", "--predict", "Predicted whole-run speedup: a number, e.g. 1.5 or 1.5x.",
              "<expected whole-run speedup, e.g. 1.5>"),
    StepField("risk", "--risk", "What could go wrong or invalidate the approach.", "<what could go wrong>"),
)}

PLAN = {f.name: f for f in (
    StepField("phase", "--phase", "The profiled phase the change attacks; several that one change speeds up: "
              "'a+b' (their shares add).", "<a phase the latest profile measured>"),
    StepField("change", "--change", "What you will change (becomes the iteration's title).",
              "<what you will change>"),
    StepField("bottleneck", "--bottleneck", "What the profile showed (function, line, cause).",
              "<what the profile showed>"),
)}


def as_reason(field: StepField) -> str:
    """The help as the end of a refusal ("--risk is required: what could go wrong ...")."""
    return field.help[0].lower() + field.help[1:]
