"""The child's own resource usage, read where it is reaped.

``subprocess.Popen`` reaps its child with ``os.waitpid`` and drops the
kernel's account of it. ``RusagePopen`` reaps with ``os.wait4`` instead and
keeps that account: the CPU seconds (user + system) and the peak resident
set of the child and of every descendant it waited for. campaign measures
these itself, around the process, so that a workload's self-reported time
can be checked against a clock it does not control
(``campaign.measure.integrity``).
"""

from __future__ import annotations

import os
import subprocess
import sys


class RusagePopen(subprocess.Popen):
    """A ``Popen`` whose ``rusage`` (an ``os.wait4`` resource struct, or None) is set when the child is reaped."""

    rusage = None

    def _wait4(self, pid: int, flags: int):
        pid_, status, usage = os.wait4(pid, flags)
        if pid_ == self.pid and pid_:
            self.rusage = usage
        return pid_, status

    def _try_wait(self, wait_flags):  # POSIX: every blocking/timed wait reaps here
        try:
            return self._wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0

    def _internal_poll(self, _deadstate=None, **kwargs):  # poll() reaps here
        if sys.platform == "win32" or not hasattr(os, "wait4"):
            return super()._internal_poll(_deadstate=_deadstate, **kwargs)
        return super()._internal_poll(_deadstate=_deadstate, _waitpid=self._wait4)


def usage_of(proc) -> tuple[float | None, int | None]:
    """(CPU seconds, peak RSS in KiB) of a reaped ``RusagePopen`` child; (None, None) when unknown."""
    usage = getattr(proc, "rusage", None)
    if usage is None:
        return None, None
    rss = int(usage.ru_maxrss)
    if sys.platform == "darwin":  # bytes there, KiB on Linux
        rss //= 1024
    return float(usage.ru_utime + usage.ru_stime), rss
