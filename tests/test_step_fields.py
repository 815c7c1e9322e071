"""THINK's and PLAN's fields are said once (campaign/loop/step_fields.py): the CLI's --help, the MCP tools'
schemas, the suggested next command, the MCP call templates and the agents' answer templates all read them.

Before, the same help was written six times and had drifted ("a number such as 1.5" in MCP, "e.g. 1.5 or
1.5x" in the CLI; "(2-3)" against "(repeat 2-3 times)").
"""

from __future__ import annotations

import shlex
import typing

from campaign.loop.step_fields import OPTION_PLACEHOLDERS, PLAN, THINK


def test_the_cli_help_is_the_fields_help():
    from campaign.cli.plan_cmds import plan, think

    for command, fields in ((think, THINK), (plan, PLAN)):
        helps = {p.name: p.help for p in command.params}
        for field in fields.values():
            assert helps[field.name] == field.help, (command.name, field.name)


def test_the_cli_flags_are_the_fields_flags():
    from campaign.cli.plan_cmds import plan, think

    for command, fields in ((think, THINK), (plan, PLAN)):
        flags = {p.name: p.opts for p in command.params}
        for field in fields.values():
            assert flags[field.name] == [field.flag], (command.name, field.name)


def test_the_two_option_placeholders_are_said_once_and_used_alike():
    from campaign.agents.mcp_hints import ARGUMENT_TEMPLATES
    from campaign.agents.prompts import EXAMPLES
    from campaign.loop.machine import expected_command
    from campaign.loop.state import State, Step

    first, second = OPTION_PLACEHOLDERS
    assert first == THINK["options"].placeholder and first != second
    words = shlex.split(expected_command(Step.THINK, State()))
    assert [words[i + 1] for i, w in enumerate(words) if w == THINK["options"].flag] == [first, second]
    assert ARGUMENT_TEMPLATES["think"]["options"] == [first, second]
    assert EXAMPLES["think"]["options"] == [first, second]


def test_the_mcp_schemas_describe_the_fields_as_the_cli_does():
    from campaign.agents import mcp_tool_specs

    registered: dict[str, typing.Callable] = {}

    class Server:  # only what registration calls: @server.tool(name=..., ...)
        def tool(self, name: str, **_: object):
            return lambda fn: registered.setdefault(name, fn)

    mcp_tool_specs.register_tools(Server(), tools=None)
    for tool, fields in (("think", THINK), ("plan", PLAN)):
        hints = typing.get_type_hints(registered[tool], include_extras=True)
        for field in fields.values():
            described = next(m.description for m in hints[field.name].__metadata__)
            assert described == field.help, (tool, field.name)


def test_the_suggested_commands_and_templates_use_the_placeholders():
    from campaign.agents.mcp_hints import ARGUMENT_TEMPLATES
    from campaign.agents.prompts import EXAMPLES
    from campaign.loop.machine import expected_command
    from campaign.loop.state import State, Step

    think = expected_command(Step.THINK, State())
    words = shlex.split(think)  # a command a shell reads as the flags it names, each placeholder one argument
    for field in THINK.values():
        assert field.flag in words and field.placeholder in words, field.name
        assert field.placeholder in str(ARGUMENT_TEMPLATES["think"][field.name])
    for name in ("hypothesis", "chosen", "risk"):
        assert EXAMPLES["think"][name] == THINK[name].placeholder
    plan = shlex.split(expected_command(Step.PLAN, State()))
    assert PLAN["change"].placeholder in plan and PLAN["bottleneck"].placeholder in plan
    assert ARGUMENT_TEMPLATES["plan"]["change"] == PLAN["change"].placeholder
