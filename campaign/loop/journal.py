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

The protected copy: a campaign's journal is also kept outside the work tree,
in ``.git/campaign/<name>/journal.jsonl``, rewritten after every append, so
neither the code under optimization nor an agent (deleting ``optim/``,
stashing, switching branch) can take the record with it. ``compare_copy``
(pure) says how the two relate; the campaign restores the journal from the
copy when the journal lost events, and refuses when they disagree. A
campaign journal must begin with its ``init`` event. A third copy (the
``mirror``: a git blob under ``refs/campaign/<name>/journal``,
``campaign.loop.journal_ref``) stands in for the copy when both files are
gone. An append writes both files or neither: the copy is opened first (a
read-only ``.git`` refuses the append before the journal changes), and a
journal line that cannot be written takes its copy line back.

Every event carries its ``writer`` (``campaign.loop.driver.current_writer``):
a ``campaign run`` or a command, so ``review`` can tell who wrote what.

The log format (``journal_format``), durable writes (``durable``) and the lock
(``lock``) are their own modules; their names are re-exported here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaign.errors import JournalError
from campaign.loop import killpoint
from campaign.loop.durable import (
    append_synced,
    fsync_dir,
    read_bytes,
    truncate,
    write_atomic,
)
from campaign.loop.event_schemas import event_problem
from campaign.loop.events import EVENT_TYPES, SCHEMA_VERSION
from campaign.loop.journal_format import (  # noqa: F401
    JOURNAL_NAME,
    JournalContents,
    TornTail,
    finite,
    now_iso,
    parse_journal,
)
from campaign.loop.lock import (  # noqa: F401
    DEFAULT_LOCK_TIMEOUT_S,
    HOLDER_NAME,
    LOCK_NAME,
    CampaignLock,
    command_line,
    holder_alive,
)


@dataclass
class CopyCheck:
    """How a journal relates to its protected copy (``compare_copy``)."""

    state: str  # ok | new (no copy yet) | behind (the copy lacks the last event) | restorable | diverged
    journal_lines: int
    copy_lines: int
    line: int | None = None  # the first line where they disagree (diverged)


def _whole(data: bytes) -> bytes:
    return data[: data.rfind(b"\n") + 1]


def compare_copy(journal: bytes | None, copy: bytes | None) -> CopyCheck:
    """Compare a journal's whole lines with its copy's (pure).

    The journal may be one event ahead (a crash between the two writes); it
    may have lost events the copy holds (deleted, truncated, an older version
    checked out): restorable; anything else is a divergence.
    """
    real, kept = _whole(journal or b""), _whole(copy or b"")
    n_real, n_kept = real.count(b"\n"), kept.count(b"\n")
    if copy is None:
        return CopyCheck("new", n_real, 0)
    if real == kept:
        return CopyCheck("ok", n_real, n_kept)
    if real.startswith(kept):
        return CopyCheck("behind" if n_real - n_kept == 1 else "diverged", n_real, n_kept, n_kept + 2)
    if kept.startswith(real):
        return CopyCheck("restorable", n_real, n_kept)
    lines_real, lines_kept = real.split(b"\n"), kept.split(b"\n")
    line = next(i for i, (a, b) in enumerate(zip(lines_real, lines_kept)) if a != b) + 1
    return CopyCheck("diverged", n_real, n_kept, line)


class Journal:
    """The append-only event log of one campaign (``record_dir/journal.jsonl``).

    ``copy_dir``: where the protected copy lives (a campaign's: under the git
    folder); ``require_init``: a journal whose first event is not ``init`` is
    refused on read.
    """

    def __init__(self, record_dir: Path, copy_dir: Path | None = None, require_init: bool = False,
                 mirror: Any = None, writer: Any = None):
        self.record_dir = Path(record_dir)
        self.path = self.record_dir / JOURNAL_NAME
        self.copy_path = Path(copy_dir) / JOURNAL_NAME if copy_dir is not None else None
        self.require_init = require_init
        self.mirror = mirror  # read() -> bytes | None, write(bytes): the copy in git objects (journal_ref)
        self.writer = writer  # () -> dict: who writes the next event (driver.current_writer)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> JournalContents:
        data = read_bytes(self.path)
        if data is None:
            return JournalContents([], None)
        return self._parsed(data, str(self.path))

    def _parsed(self, data: bytes, name: str) -> JournalContents:
        contents = parse_journal(data, name)
        first = contents.events[0] if contents.events else None
        if self.require_init and first is None:
            kept = f" (the {len(data)} bytes found are kept as {JOURNAL_NAME}.torn-1)" if data else ""
            raise JournalError(
                f"{name} holds no whole event, not even the campaign's `init` (an init killed while writing "
                f"it, or a file emptied). Start the campaign again with `campaign init --target SPEC`{kept}, "
                f"or restore the journal from git."
            )
        if self.require_init and first is not None and first.get("type") != "init":
            copy = f" from its protected copy {self.copy_path} or" if self.copy_path and self.copy_path.exists() else ""
            raise JournalError(
                f"{name}: line 1 is a {first.get('type')!r} event, not the campaign's `init`: the journal lost "
                f"its beginning (deleted or replaced, e.g. by an agent or the code under optimization). It is "
                f"never repaired silently: restore it{copy} from git (`git log -- {name}`), then run the "
                f"command again."
            )
        return contents

    # -- the protected copy ----------------------------------------------------------------

    def check_copy(self) -> CopyCheck | None:
        """How the journal relates to its copy (None: this journal keeps no copy)."""
        if self.copy_path is None:
            return None
        return compare_copy(read_bytes(self.path), self.kept_bytes())

    def kept_bytes(self) -> bytes | None:
        """The protected copy; the mirror in git objects where it holds more (the copy deleted or cut short)."""
        copy = read_bytes(self.copy_path)
        if self.mirror is None:
            return copy
        mirrored = self.mirror.read()
        if mirrored and (copy is None or (len(mirrored) > len(copy) and mirrored.startswith(_whole(copy)))):
            return mirrored
        return copy

    def read_protected(self) -> JournalContents:
        """The events, taken from the copy when the journal lost some (read-only; ``status`` uses it)."""
        check = self.check_copy()
        if check is None or check.state in ("ok", "new", "behind"):
            return self.read()
        if check.state == "diverged":
            raise self.diverged_error(check)
        contents = self._parsed(self.kept_bytes() or b"", str(self.copy_path))
        contents.from_copy = len(contents.events) - check.journal_lines
        return contents

    def diverged_error(self, check: CopyCheck) -> JournalError:
        return JournalError(
            f"{self.path} differs from its protected copy {self.copy_path} from line {check.line} on (it was "
            f"edited or replaced outside campaign). The journal is the campaign's record and is never repaired "
            f"silently: compare the two, keep the right one as {self.path.name} (`cp {self.copy_path} "
            f"{self.path}` restores the copy) and run the command again."
        )

    def _write_both(self, line: bytes, journal_size: int) -> None:
        """Append ``line`` to the copy, then to the journal: both or neither (``JournalError`` when either refuses).

        A copy that is not in step with the journal (none yet, or lagging) is
        rewritten whole after the journal line; its folder is checked first.
        """
        copy_fh = None
        try:
            if self.copy_path is not None:
                try:
                    in_step = self.copy_path.stat().st_size == journal_size
                except FileNotFoundError:
                    in_step = False
                self.copy_path.parent.mkdir(parents=True, exist_ok=True)
                if in_step:
                    copy_fh = open(self.copy_path, "ab")
                elif not os.access(self.copy_path.parent, os.W_OK):
                    raise PermissionError(30, "not writable", str(self.copy_path.parent))
        except OSError as exc:
            raise self._unwritable(self.copy_path, exc) from None
        try:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            journal_fh = open(self.path, "ab")
        except OSError as exc:
            if copy_fh is not None:
                copy_fh.close()
            raise self._unwritable(self.path, exc) from None
        with journal_fh:
            if copy_fh is not None:
                with copy_fh:
                    try:
                        append_synced(copy_fh, line)
                    except OSError as exc:
                        truncate(self.copy_path, journal_size)
                        raise self._unwritable(self.copy_path, exc) from None
            try:
                append_synced(journal_fh, line)
            except OSError as exc:
                truncate(self.path, journal_size)
                if copy_fh is not None:
                    truncate(self.copy_path, journal_size)
                raise self._unwritable(self.path, exc) from None
        if copy_fh is None and self.copy_path is not None:
            self.write_copy()

    def _unwritable(self, path: Path | None, exc: OSError) -> JournalError:
        return JournalError(
            f"cannot write {path} ({exc.strerror or exc}): the journal and its protected copy are written together "
            f"or not at all, so nothing was recorded and the two still agree. A read-only .git or record folder "
            f"(an agent's sandbox, a read-only mount) cannot hold a campaign step: run the command where both "
            f"are writable."
        )

    def _write_mirror(self) -> None:
        """Store the whole journal in git objects; a failure only leaves the mirror one append behind."""
        if self.mirror is None:
            return
        try:
            self.mirror.write(_whole(read_bytes(self.path) or b""))
        except Exception:  # noqa: BLE001 - a read-only or damaged object store never fails an append
            pass

    def write_copy(self) -> None:
        """Make the copy equal to the journal's whole lines (the mirror follows at the next append). Hold the lock."""
        if self.copy_path is not None:
            write_atomic(self.copy_path, _whole(read_bytes(self.path) or b""))

    def restore_from_copy(self) -> tuple[int, Path | None]:
        """Put the copy back as the journal; (events restored, where the replaced journal was kept or None)."""
        check = self.check_copy()
        data = read_bytes(self.path)
        backup = None
        if data:  # nothing is ever dropped: the journal being replaced is kept beside it
            backup = self.path.with_name(f"{JOURNAL_NAME}.replaced-{check.journal_lines + 1}")
            n = 1
            while backup.exists():
                n += 1
                backup = self.path.with_name(f"{JOURNAL_NAME}.replaced-{check.journal_lines + 1}.{n}")
            write_atomic(backup, data)
        kept = _whole(self.kept_bytes() or b"")
        write_atomic(self.path, kept)
        if read_bytes(self.copy_path) != kept:  # the copy came back from the mirror: put the file back too
            write_atomic(self.copy_path, kept)
        return check.copy_lines - check.journal_lines, backup

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
        fsync_dir(self.record_dir)
        return dest

    def append(self, type_: str, data: dict[str, Any], iteration: int | None = None) -> dict[str, Any]:
        """Append one event (flush + fsync); repairs a torn tail first. Hold the lock."""
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}")
        raw = read_bytes(self.path)  # not self.read(): a journal with only a torn first line is repaired here
        contents = parse_journal(raw, str(self.path)) if raw is not None else JournalContents([], None)
        self.repair(contents)
        event = {
            "schema": SCHEMA_VERSION,
            "seq": len(contents.events) + 1,
            "ts": now_iso(),
            "type": type_,
            "iteration": iteration,
            "data": finite(data),
        }
        if self.writer is not None:
            event["writer"] = self.writer()
        line = json.dumps(event, sort_keys=True, default=str, allow_nan=False) + "\n"
        problem = event_problem(json.loads(line))  # never write what a reader would refuse
        if problem:
            raise ValueError(f"refusing to journal an invalid {type_!r} event ({problem}); the journal is unchanged")
        killpoint.reached(type_, "before")  # pragma: no mutate  (scripts/chaos.py only)
        created = not self.path.exists()
        size = self.path.stat().st_size if not created else 0
        self._write_both(line.encode("utf-8"), size)
        if created:
            fsync_dir(self.record_dir)
        self._write_mirror()
        killpoint.reached(type_, "after")  # pragma: no mutate  (scripts/chaos.py only)
        return event
