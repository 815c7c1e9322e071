"""Limits on the free text a step records (hypotheses, Surprises, reasons): no NUL bytes, a sane size.

Every such field goes into the journal, the rendered logs and an agent's
next prompt. A NUL byte there breaks tools that read text files; a 10 MB
"hypothesis" made a 20 MB journal and 52 MB of logs. Both are refused
before anything is written (``RuleError``, exit 1), naming the field.
"""

from __future__ import annotations

from typing import Any

from campaign.errors import RuleError

MAX_CHARS = 20_000  # per field: a long, honest postmortem is a few thousand characters
MAX_ITEMS = 50  # per list field (options, line-profiled functions)


def check_text(**fields: Any) -> None:
    """Refuse a field (str, or list of str) holding a NUL byte or more than ``MAX_CHARS`` characters."""
    for name, value in fields.items():
        if value is None:
            continue
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(items) > MAX_ITEMS:
            raise RuleError(f"`{name}` has {len(items)} entries; at most {MAX_ITEMS} are recorded. Keep the ones "
                            f"that matter.")
        for item in items:
            if not isinstance(item, str):
                continue
            if "\0" in item:
                raise RuleError(f"`{name}` contains a NUL byte (\\0); the journal and the logs are text. Remove it "
                                f"and run the step again.")
            if len(item) > MAX_CHARS:
                raise RuleError(f"`{name}` is {len(item):,} characters long; at most {MAX_CHARS:,} are recorded "
                                f"(it goes into the journal, the logs and the agent's next prompt). Shorten it to "
                                f"what a reader needs and run the step again.")
