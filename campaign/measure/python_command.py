"""Is a target's workload command a Python program, and which one? (pure)

``campaign.toml`` targets run a shell command. When that command runs a
Python script or module (``python bench.py fast 3``, ``python3 -m bench``,
the interpreter's full path, ``VAR=1 python ...``), PROFILE can run the same
program under cProfile and line_profiler; anything else (a pipeline, a
compiled binary, ``python -c``) cannot be profiled at function level, and
``python_program`` says why in one phrase.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field

_PYTHON_NAME = re.compile(r"^(python|pypy)(\d+(\.\d+)*)?(\.exe)?$")
_FLAGS_WITH_ARG = {"-X", "-W", "-Q"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class PythonProgram:
    """The interpreter, its flags, and a script path or module name with its arguments."""

    python: str
    flags: list[str]
    kind: str  # "script" or "module"
    what: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _is_python(word: str) -> bool:
    if word == sys.executable:
        return True
    return bool(_PYTHON_NAME.match(os.path.basename(word)))


def python_program(cmd: list[str] | str) -> tuple[PythonProgram | None, str]:
    """``(program, "")`` when ``cmd`` runs one Python script or module; ``(None, why)`` otherwise."""
    if isinstance(cmd, str):
        try:
            lexer = shlex.shlex(cmd, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words = list(lexer)
        except ValueError as exc:
            return None, f"its run command cannot be parsed ({exc})"
        if any(w and all(c in "();<>|&" for c in w) for w in words):
            return None, "its run command is a shell pipeline or list, not one Python program"
    else:
        words = list(cmd)
    env: dict[str, str] = {}
    while words and _ASSIGNMENT.match(words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if not words or not _is_python(words[0]):
        first = words[0] if words else "(nothing)"
        return None, f"its run command starts with {first!r}, not a Python interpreter"
    python, rest = words[0], words[1:]
    flags: list[str] = []
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag == "-m":
            if not rest:
                return None, "its run command has `-m` without a module"
            return PythonProgram(python, flags, "module", rest[0], rest[1:], env), ""
        if flag.startswith("-c"):
            return None, "its run command is `python -c CODE` (no script or module to profile)"
        flags.append(flag)
        if flag in _FLAGS_WITH_ARG and rest:
            flags.append(rest.pop(0))
    if not rest:
        return None, "its run command starts an interactive interpreter"
    return PythonProgram(python, flags, "script", rest[0], rest[1:], env), ""
