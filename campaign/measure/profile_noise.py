"""Frames a profile of a Python run shows that no change to the code under test can speed up.

Interpreter start-up and import machinery (compiling and unmarshalling
modules, ``exec`` of a module, the import system's file system calls) and
writing the result (``print``) show up among the top functions of a short
run, ahead of the code a campaign could change. PROFILE leaves them out of
the top functions it records; the phase timings still include their time.
"""

from __future__ import annotations

STARTUP_BUILTINS = (
    "builtins.compile", "builtins.exec", "builtins.__import__", "builtins.print", "builtins.__build_class__",
    "marshal.", "_imp.", "_abc.",
    "io.open_code", "posix.stat", "posix.lstat", "posix.listdir", "posix.getcwd", "nt.stat",
)


def is_noise(filename: str, function: str, in_workspace: bool = True) -> bool:
    """A built-in frame of interpreter start-up, imports or output, or the import of a module from outside
    the workspace (its ``<module>`` frame) (pure)."""
    if function == "<module>" and not in_workspace:
        return True
    if filename != "~":
        return False
    name = function.removeprefix("<built-in method ").removesuffix(">")
    return name.startswith(STARTUP_BUILTINS) or "_io." in function or "_frozen_importlib" in function
