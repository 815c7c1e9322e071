"""A test-only hook: stop at a named point of the journal's writes, so a chaos test can kill exactly there.

``CAMPAIGN_TEST_KILL_AT=<event type>:<before|after>`` (e.g. ``revert:before``: the git revert is done,
its event not yet written) and ``CAMPAIGN_TEST_KILL_MARKER=<file>``: when the journal is about to
append (``before``) or has appended (``after``) an event of that type, this process writes its pid to
the file and waits for the SIGKILL the test sends on seeing it. Unset (always, outside
``scripts/chaos.py``), it does nothing. See CONTRIBUTING.md, "The chaos test".
"""

from __future__ import annotations

import os
import time

AT, MARKER = "CAMPAIGN_TEST_KILL_AT", "CAMPAIGN_TEST_KILL_MARKER"


def reached(event_type: str, when: str) -> None:
    """Block here for good when the environment names this point (the test kills the process)."""
    if os.environ.get(AT) != f"{event_type}:{when}" or not os.environ.get(MARKER):  # pragma: no mutate
        return
    with open(os.environ[MARKER] + ".tmp", "w") as fh:  # pragma: no mutate
        fh.write(str(os.getpid()))  # pragma: no mutate
    os.replace(os.environ[MARKER] + ".tmp", os.environ[MARKER])  # pragma: no mutate
    while True:  # pragma: no mutate
        time.sleep(3600)  # pragma: no mutate
