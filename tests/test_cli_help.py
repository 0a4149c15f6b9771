"""Every `groundedqa` command, argument and option says what it is for."""

from __future__ import annotations

import argparse

from groundedqa.cli import build_parser


def walk(parser: argparse.ArgumentParser, path: str = "groundedqa"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{path} {name}", "(command)", helped.get(name)
                yield from walk(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, "/".join(action.option_strings) or action.dest, action.help


def test_every_command_argument_and_option_has_help_text() -> None:
    missing = [f"{path} {name}" for path, name, text in walk(build_parser())
               if not (text and text.strip() and text != argparse.SUPPRESS)]
    assert missing == []
