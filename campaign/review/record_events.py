"""The record's journal as the review reads it: loading the folder, and finding events in it.

The events are plain dicts as they appear in ``journal.jsonl`` (``seq``,
``type``, ``iteration``, ``data``): the review finds them by their envelope
and reads their ``data`` typed (``typed``: ``campaign.loop.record``'s class
of the event). ``load_record`` is the edge that reads the folder, everything
else is pure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, TypeVar

from campaign.loop.record import Benchmark, Data, Init, Log, Think, load_event

Event = dict[str, Any]
D = TypeVar("D", bound=Data)

DEFAULT_POSTMORTEM_FACTOR = 1.5


class RecordError(Exception):
    """The record cannot be reviewed (missing, torn or newer-schema journal)."""


def read_events(journal: Path) -> list[Event]:
    """Read ``journal.jsonl`` with ``campaign.loop.journal``'s parser; refuse a torn or invalid one.

    The journal module owns the torn-line and schema rules; a torn tail, which
    a running campaign may carry on past, is an error here: a reviewer judges
    a whole record or none.
    """
    from campaign.errors import JournalError
    from campaign.loop.journal import parse_journal

    try:
        contents = parse_journal(journal.read_bytes(), str(journal))
    except JournalError as exc:
        raise RecordError(str(exc)) from None
    if contents.torn is not None:
        raise RecordError(
            f"{journal}: line {contents.torn.line} is torn ({contents.torn.size} bytes of an interrupted "
            "write), so the record is incomplete and is not reviewed. Run any `campaign` command on the "
            "campaign to move the torn bytes aside, or restore the journal from git."
        )
    return contents.events


def load_record(record_dir: Path) -> list[Event]:
    record_dir = Path(record_dir)
    if not record_dir.is_dir():
        raise RecordError(f"{record_dir} is not a directory; give the folder of a campaign record (optim/<name>/).")
    journal = record_dir / "journal.jsonl"
    if not journal.is_file():
        raise RecordError(f"{record_dir} has no journal.jsonl, so it is not a campaign record (or it was never started).")
    events = read_events(journal)
    if not events:
        raise RecordError(f"{journal} is empty: nothing to review.")
    return events


def typed(event: Event | None, cls: type[D]) -> D:
    """The event's typed ``data`` (``campaign.loop.record.load_event``); for no event an empty ``cls``,
    whose every field reads None as an absent key did."""
    if event is None:
        return cls()
    data = load_event(event).data
    if not isinstance(data, cls):
        raise TypeError(f"event {event.get('seq')} is a {event.get('type')!r} event, not {cls.__name__}")
    return data


def of_type(events: Iterable[Event], kind: str) -> list[Event]:
    return [e for e in events if e.get("type") == kind]


def iterations(events: list[Event]) -> list[int]:
    """Iteration numbers in order of first appearance; an iteration starts at its THINK.

    A profile carries the number of the iteration it prepares, so a profile
    after which the agent declared the bottleneck exhausted names an
    iteration that never started: not one to judge.
    """
    started = {e.get("iteration") for e in events if e.get("type") == "think"}
    seen: list[int] = []
    for e in events:
        it = e.get("iteration")
        if isinstance(it, int) and it in started and it not in seen:
            seen.append(it)
    return seen


def iteration_events(events: list[Event], iteration: int) -> list[Event]:
    return [e for e in events if e.get("iteration") == iteration]


def last_of(events: list[Event], kind: str) -> Event | None:
    found = of_type(events, kind)
    return found[-1] if found else None


def first_of(events: list[Event], kind: str) -> Event | None:
    found = of_type(events, kind)
    return found[0] if found else None


def position(events: list[Event], event: Event) -> int:
    """The event's place in journal order (``seq`` when present)."""
    seq = event.get("seq")
    return seq if isinstance(seq, int) else events.index(event)


def is_kept(its: list[Event]) -> bool:
    """Whether an iteration's change was kept: its LOG says so, else a COMMIT and no REVERT."""
    kept = typed(last_of(its, "log"), Log).kept
    if isinstance(kept, bool):
        return kept
    return last_of(its, "commit") is not None and last_of(its, "revert") is None


def postmortem_factor(events: list[Event]) -> float:
    factor = typed(first_of(events, "init"), Init).postmortem_factor
    return float(factor) if isinstance(factor, (int, float)) and factor > 1 else DEFAULT_POSTMORTEM_FACTOR


def speedup_of(bench: Event | None) -> float | None:
    value = typed(bench, Benchmark).speedup
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def prediction_of(think: Event | None) -> float | None:
    value = typed(think, Think).predicted_speedup
    return float(value) if isinstance(value, (int, float)) and value > 0 else None
