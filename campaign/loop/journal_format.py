"""The journal's line format (pure): parse ``journal.jsonl`` bytes into events, report a torn tail.

One self-contained JSON object per line (``campaign.loop.events``); NaN and
infinite floats are stored as null (``finite``). ``parse_journal`` never
half-parses: the bytes after the last newline are a torn tail, a corrupt line
in the middle, a gap in ``seq``, an unknown type, a newer schema or a wrongly
typed field a ``JournalError`` naming the line.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from campaign.errors import JournalError
from campaign.loop.event_schemas import event_problem
from campaign.loop.events import EVENT_TYPES, SCHEMA_VERSION

JOURNAL_NAME = "journal.jsonl"

# Lines whose content is known to pass ``event_problem`` (schema and finite speedups), by a 128-bit digest of
# their exact bytes (a benchmark line carries its samples: tens of kB, too many to keep whole in a long-lived
# MCP server). A campaign reads its whole journal hundreds of times (every step, every `status`), and
# validating every event each time cost ~20 s of the parent's CPU over one demo beside six burners (cProfile,
# 2026-12-06), time the measured processes then waited for. The check is pure in the line's bytes, so a line
# seen valid once stays valid; the position checks (seq, type, schema version) still run on every read.
_VALID_LINES: set[bytes] = set()
_VALID_LINES_MAX = 200_000  # digests (~10 MB): past it the memo starts again


@dataclass
class TornTail:
    """An incomplete last line (a crash mid-append)."""

    line: int  # 1-based line number in the file
    offset: int  # byte offset where the torn line starts (the file is cut here)
    size: int  # bytes in the torn line

    def message(self, path: Path | str = JOURNAL_NAME) -> str:
        return (
            f"{path}: line {self.line} is torn ({self.size} bytes, an interrupted write); "
            f"the campaign continues from the last whole event, and the next command moves "
            f"the torn bytes to {Path(path).name}.torn-<seq> and truncates the journal."
        )


@dataclass
class JournalContents:
    events: list[dict[str, Any]]
    torn: TornTail | None = None
    from_copy: int = 0  # events read from the protected copy because the journal lost them


def parse_journal(data: bytes, name: str = JOURNAL_NAME) -> JournalContents:
    """Parse a journal's bytes into whole events plus an optional torn tail. Pure."""
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    events: list[dict[str, Any]] = []
    offset = 0
    torn: TornTail | None = None
    for index, raw in enumerate(lines):
        number = index + 1
        try:
            event = json.loads(raw.decode("utf-8"))
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if index == len(lines) - 1 and not tail:
                torn = TornTail(number, offset, len(raw) + 1)
                break
            raise JournalError(
                f"{name}: line {number} is corrupt ({exc}) and is not the last line, so it is not an "
                f"interrupted write. The journal is the campaign's record and is never repaired "
                f"silently: restore it from git (`git show HEAD:<path>`) or fix line {number} by hand."
            ) from None
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        _check_event(event, number, len(events), name, known_valid=digest in _VALID_LINES)
        _remember_valid(digest)
        events.append(event)
        offset += len(raw) + 1
    if tail and torn is None:
        torn = TornTail(len(lines) + 1, offset, len(tail))
    return JournalContents(events, torn)


def _remember_valid(digest: bytes) -> None:
    if len(_VALID_LINES) >= _VALID_LINES_MAX:
        _VALID_LINES.clear()  # a bound, not an eviction policy: the next reads validate once more
    _VALID_LINES.add(digest)


def _check_event(event: dict[str, Any], number: int, previous: int, name: str, known_valid: bool = False) -> None:
    schema = event.get("schema")
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        raise JournalError(
            f"{name}: line {number} was written by a newer campaign (journal schema {schema}; this "
            f"campaign reads schema {SCHEMA_VERSION} and older). Upgrade campaign "
            f"(`pip install -U campaign`) to continue this campaign; nothing was changed."
        )
    problem = None
    if not isinstance(schema, int):
        problem = "it has no integer 'schema'"
    elif event.get("seq") != previous + 1:
        problem = f"its seq is {event.get('seq')!r} where {previous + 1} was expected"
    elif event.get("type") not in EVENT_TYPES:
        problem = f"its type {event.get('type')!r} is not a known event type"
    elif not isinstance(event.get("data"), dict):
        problem = "its 'data' is not an object"
    elif not known_valid:
        problem = event_problem(event)
    if problem:
        raise JournalError(
            f"{name}: line {number} is not a valid campaign event ({problem}). The journal is the "
            f"campaign's record and is never repaired silently: restore it from git or fix line "
            f"{number} by hand."
        )


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
