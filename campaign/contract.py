"""The machine contract: exit codes, error codes and the JSON Schemas of every ``--json`` output.

A program driving ``campaign`` (CI, an agent, the MCP server's clients) relies
on this and nothing else: each outcome has its own exit code; with ``--json``
each outcome is one JSON object with ``ok``, ``schema_version`` and, when
``ok`` is false, a stable ``code`` and a one-paragraph ``message``. The schemas
are published as package data in ``campaign/schemas/`` (docs/contract.md).
"""

from __future__ import annotations

import json
from enum import IntEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1  # of every JSON object the CLI (--json) and the MCP server return
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_URN = "urn:campaign:schema:"  # each schema's $id is SCHEMA_URN + its name ("envelope", "status", ...)


class ExitCode(IntEnum):
    """The process exit codes, one per kind of outcome."""

    OK = 0
    USER_ERROR = 1         # bad input, a failed workload, a refused rule, a held lock, no campaign
    STEP_OUT_OF_ORDER = 2  # this step may not come next: the step due and its command are named
    TEST_FAILED = 3        # the change broke correctness (`campaign try`); `campaign log` reverts it
    FINDINGS = 4           # `campaign review` found broken rules / `campaign replay` disagrees with the record
    DRIVEN = 5             # a `campaign run` drives this campaign: only it writes the record; answer it instead
    USAGE = 64             # the command line itself is wrong: unknown option, bad value (sysexits EX_USAGE)
    IO_ERROR = 74          # the disk is full, the record read-only, a file not writable (sysexits EX_IOERR)
    INTERNAL = 70          # a bug in campaign: report it with the traceback (sysexits EX_SOFTWARE)
    INTERRUPTED = 130      # Ctrl-C / SIGINT (128 + 2)
    TERMINATED = 143       # SIGTERM (128 + 15): handled as Ctrl-C is, told apart by its code


def error_payload(code: str, message: str, **data: Any) -> dict[str, Any]:
    """A failure as one JSON object: ``ok`` false, a stable ``code``, a one-paragraph ``message``, details."""
    return {**data, "ok": False, "code": code, "message": message, "schema_version": SCHEMA_VERSION}


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """The published schema ``name`` (``envelope``, ``error`` or a command such as ``status``)."""
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.exists():
        raise KeyError(f"no published schema {name!r} (have: {', '.join(schema_names())})")
    return json.loads(path.read_text(encoding="utf-8"))


def schema_names() -> list[str]:
    return sorted(p.name[: -len(".schema.json")] for p in SCHEMA_DIR.glob("*.schema.json"))


def validation_errors(payload: Any, name: str) -> list[str]:
    """Why ``payload`` does not match schema ``name`` (empty when it does); refs resolve among the schemas."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry = Registry().with_resources(
        (SCHEMA_URN + n, Resource.from_contents(load_schema(n))) for n in schema_names())
    validator = Draft202012Validator(load_schema(name), registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path)))]
