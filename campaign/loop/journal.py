"""The journal: ``optim/<name>/journal.jsonl``, append-only, the single source of truth.

One self-contained JSON object per line (the schema is in ``campaign.loop.events``).
Every append is one ``write`` of the whole line followed by ``flush`` and
``os.fsync``, so after a crash at most the LAST line can be incomplete. NaN and
infinite floats are stored as null (JSON has neither).

Reading (``parse_journal``, pure):

* the bytes after the last newline are a *torn* tail (a crash mid-write):
  reported with its line number, never half-parsed; the campaign continues
  from the last whole event. So is a newline-terminated last line that is
  not valid JSON.
* on the next append the torn bytes are moved to ``journal.jsonl.torn-<seq>``
  (``seq`` of the event being appended) and the file is truncated to its last
  whole line: nothing is ever silently dropped.
* a corrupt line in the MIDDLE, a gap in ``seq`` or an unknown event type is a
  ``JournalError`` naming the line; so is an event written by a newer schema,
  and one whose fields have the wrong types (``campaign.loop.event_schemas``).

The lock (``CampaignLock``): one ``campaign`` command at a time per campaign.
The second waits ``CAMPAIGN_LOCK_TIMEOUT`` seconds (default 3) and then refuses,
naming the command that holds it (its argv and pid are stored in
``.lock.holder`` beside the lock file ``.lock``). The lock is an OS file lock
(flock): a killed holder releases it automatically.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from campaign.errors import JournalError, LockError
from campaign.loop.event_schemas import event_problem
from campaign.loop.events import EVENT_TYPES, SCHEMA_VERSION

JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = ".lock"
HOLDER_NAME = ".lock.holder"
DEFAULT_LOCK_TIMEOUT_S = 3.0


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
        _check_event(event, number, len(events), name)
        events.append(event)
        offset += len(raw) + 1
    if tail and torn is None:
        torn = TornTail(len(lines) + 1, offset, len(tail))
    return JournalContents(events, torn)


def _check_event(event: dict[str, Any], number: int, previous: int, name: str) -> None:
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
    else:
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


def command_line(argv: list[str]) -> str:
    """How a holder's argv reads to a user: ``campaign try --full``."""
    if not argv:
        return "campaign ..."
    head = Path(argv[0]).name
    if head in ("campaign", "__main__.py") or head.startswith("python"):
        rest = argv[1:]
        if rest[:2] == ["-m", "campaign"]:
            rest = rest[2:]
        return " ".join(["campaign", *rest])
    return " ".join(argv)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
    """The append-only event log of one campaign (``record_dir/journal.jsonl``)."""

    def __init__(self, record_dir: Path):
        self.record_dir = Path(record_dir)
        self.path = self.record_dir / JOURNAL_NAME

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> JournalContents:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return JournalContents([], None)
        return parse_journal(data, str(self.path))

    def events(self) -> list[dict[str, Any]]:
        return self.read().events

    def repair(self, contents: JournalContents) -> Path | None:
        """Move a torn tail to ``journal.jsonl.torn-<seq>`` and truncate to the last whole line."""
        torn = contents.torn
        if torn is None:
            return None
        seq = len(contents.events) + 1
        with open(self.path, "rb") as fh:
            fh.seek(torn.offset)
            torn_bytes = fh.read()
        dest = self.path.with_name(f"{JOURNAL_NAME}.torn-{seq}")
        n = 1
        while dest.exists():  # a second crash at the same seq: keep both
            n += 1
            dest = self.path.with_name(f"{JOURNAL_NAME}.torn-{seq}.{n}")
        with open(dest, "wb") as fh:
            fh.write(torn_bytes)
            fh.flush()
            os.fsync(fh.fileno())
        with open(self.path, "r+b") as fh:
            fh.truncate(torn.offset)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(self.record_dir)
        return dest

    def append(self, type_: str, data: dict[str, Any], iteration: int | None = None) -> dict[str, Any]:
        """Append one event (flush + fsync); repairs a torn tail first. Hold the lock."""
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}")
        contents = self.read()
        self.repair(contents)
        event = {
            "schema": SCHEMA_VERSION,
            "seq": len(contents.events) + 1,
            "ts": now_iso(),
            "type": type_,
            "iteration": iteration,
            "data": finite(data),
        }
        line = json.dumps(event, sort_keys=True, default=str, allow_nan=False) + "\n"
        problem = event_problem(json.loads(line))  # never write what a reader would refuse
        if problem:
            raise ValueError(f"refusing to journal an invalid {type_!r} event ({problem}); the journal is unchanged")
        created = not self.path.exists()
        self.record_dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if created:
            _fsync_dir(self.record_dir)
        return event


class CampaignLock:
    """Exclusive lock on one campaign for the duration of a command (re-entrant in-process)."""

    def __init__(self, record_dir: Path, timeout_s: float | None = None, argv: list[str] | None = None):
        self.record_dir = Path(record_dir)
        if timeout_s is None:
            timeout_s = float(os.environ.get("CAMPAIGN_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_S))
        self.timeout_s = timeout_s
        self.argv = list(argv if argv is not None else sys.argv)
        self._lock = None
        self._depth = 0

    @property
    def holder_path(self) -> Path:
        return self.record_dir / HOLDER_NAME

    def holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return None

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        from filelock import FileLock, Timeout

        self.record_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.record_dir / LOCK_NAME))
        try:
            lock.acquire(timeout=self.timeout_s)
        except Timeout:
            holder = self.holder() or {}
            command = command_line(holder.get("argv") or [])
            raise LockError(
                f"another campaign command is running on this campaign: `{command}` "
                f"(pid {holder.get('pid', '?')}, since {holder.get('since', '?')}); waited "
                f"{self.timeout_s:g} s for it. Let it finish (`campaign status` shows where things "
                f"stand), then run your command again; writes never interleave."
            ) from None
        self._lock = lock
        self._depth = 1
        self.holder_path.write_text(json.dumps({"pid": os.getpid(), "argv": self.argv, "since": now_iso()}))

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        try:
            self.holder_path.unlink()
        except OSError:
            pass
        self._lock.release()
        self._lock = None

    def __enter__(self) -> "CampaignLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
