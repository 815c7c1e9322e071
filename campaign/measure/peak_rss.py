"""A workload's own peak RSS, not campaign's: the workload is started by a small launcher.

Linux records, when a process calls ``exec``, the peak RSS of the memory it
had before (``exec_mmap``: the signal struct's ``maxrss``), and ``wait4``
reports the larger of that and the new program's peak. A child exec'd by
campaign therefore reports at least campaign's own peak: measured here, a
``python -c pass`` child read 21 MB from a lean parent and 329 MB from one
holding 300 MB, while its own ``VmHWM`` was 14 MB. In a ``campaign demo`` run
both trees of iterations 2 and 3 read exactly the runner's 120 MB, hiding any
difference.

So the workload is started by a launcher (``python -I -S``, a few MB), which
spawns it with ``posix_spawnp`` (its ``exec`` inherits only the launcher's
small peak), reaps it with ``wait4`` and writes its peak RSS to a file that
campaign reads; the launcher exits with the workload's status. The value is
campaign's measurement, taken outside the workload, never what it reports.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

LAUNCHER = r"""
import json, os, signal, sys
out, argv = sys.argv[1], sys.argv[2:]
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as exc:
    sys.stderr.write(f"{argv[0]}: {exc.strerror or exc}\n")
    sys.exit(127)
_, status, usage = os.wait4(pid, 0)
rss = usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
with open(out, "w") as f:
    json.dump({"max_rss_kb": rss}, f)
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def supported() -> bool:
    return os.name == "posix" and hasattr(os, "posix_spawnp") and hasattr(os, "wait4")


def wrap(cmd: list[str] | str) -> tuple[list[str] | str, Path | None]:
    """(the command under the launcher, the file its report goes to); ``cmd`` as it is where unsupported."""
    if not supported():
        return cmd, None
    fd, name = tempfile.mkstemp(prefix="campaign-rss-", suffix=".json")
    os.close(fd)
    argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, name, *argv], Path(name)


def read(report: Path | None) -> int | None:
    """The workload's peak RSS in KiB from the launcher's report (None: no report, e.g. killed); removes the file."""
    if report is None:
        return None
    try:
        value = json.loads(report.read_text() or "{}").get("max_rss_kb")
    except (OSError, ValueError):
        value = None
    finally:
        report.unlink(missing_ok=True)
    return int(value) if isinstance(value, int) and value > 0 else None
