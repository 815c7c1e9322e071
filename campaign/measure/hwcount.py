"""Instruction counts from the CPU's own counters (Linux ``perf_event_open``): ``--instructions`` at native speed.

Callgrind counts instructions by running the workload on a simulated CPU,
about 50x slower (``campaign.measure.callgrind``). Where the machine exposes
hardware performance counters, the kernel counts the same thing while the
workload runs at full speed. The count is taken by a small launcher
(``python -I -S``, as ``campaign.measure.peak_rss``'s): it opens a counter of
user-space instructions on itself with ``inherit`` set, spawns the workload,
reaps it and reads the counter, which by then holds the workload's
instructions and those of every process and thread it started. The workload
neither sees nor can touch the counter; the count is campaign's, never what
the workload reports.

Where the counter cannot be opened the reason is said and callgrind counts
instead: a virtual machine without a virtual PMU answers ``ENOENT`` (this
project's own CI machine does), a ``kernel.perf_event_paranoid`` above 2
answers ``EACCES``, and other systems have no ``perf_event_open``.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from pathlib import Path

from campaign.measure.procs import run_process
from campaign.measure.workload import WorkloadError

PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS = 0, 1
EVENT = (PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS)  # what is counted; tests count a software event the same way
COUNTER_FAILED = 125  # the launcher's exit status when its counter cannot be opened

# One implementation of opening a counter, run both in the launcher (which cannot import campaign: ``-I -S``)
# and here (``unavailable``). perf_event_attr: type, size, config at 0; the flag bits at 40: disabled (bit 0),
# inherit (1: the counter follows every process and thread started after it), exclude_kernel (5), exclude_hv (6).
_OPEN = r"""
import ctypes, os, struct
_SYSCALL = {"x86_64": 298, "aarch64": 241, "ppc64le": 319, "s390x": 331}.get(os.uname().machine)

def perf_open(kind, config):
    if _SYSCALL is None:
        return -1, -1
    libc = ctypes.CDLL(None, use_errno=True)
    attr = bytearray(128)
    struct.pack_into("IIQ", attr, 0, kind, len(attr), config)
    struct.pack_into("Q", attr, 40, (1 << 0) | (1 << 1) | (1 << 5) | (1 << 6))
    fd = libc.syscall(_SYSCALL, (ctypes.c_char * len(attr)).from_buffer(attr), 0, -1, -1, 8)  # 8: FD_CLOEXEC
    return (fd, 0) if fd >= 0 else (-1, ctypes.get_errno())

def perf_toggle(fd, on):
    ctypes.CDLL(None, use_errno=True).ioctl(fd, 0x2400 if on else 0x2401, 0)  # PERF_EVENT_IOC_ENABLE / DISABLE

def perf_read(fd):
    return struct.unpack("q", os.read(fd, 8))[0]
"""

LAUNCHER = _OPEN + r"""
import json, signal, sys
out, kind, config, argv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
fd, err = perf_open(kind, config)
if fd < 0:
    with open(out, "w") as f:
        json.dump({"errno": err}, f)
    sys.exit(125)
perf_toggle(fd, True)
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as exc:
    sys.stderr.write(f"{argv[0]}: {exc.strerror or exc}\n")
    sys.exit(127)
_, status = os.waitpid(pid, 0)
perf_toggle(fd, False)
with open(out, "w") as f:
    json.dump({"count": perf_read(fd)}, f)
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def why_not(err: int) -> str:
    """What an errno from ``perf_event_open`` means for the user. Pure."""
    if err == -1:
        return f"perf_event_open is not known on {sys.platform}/{os.uname().machine}"
    if err == errno.ENOENT:
        return "this machine exposes no hardware counters (ENOENT: typically a virtual machine without a virtual PMU)"
    if err in (errno.EACCES, errno.EPERM):
        return ("the kernel forbids counting (EACCES: kernel.perf_event_paranoid is above 2; "
                "`sysctl kernel.perf_event_paranoid=2` allows a process to count itself)")
    if err == errno.ENOSYS:
        return "this kernel has no perf_event_open (ENOSYS)"
    return f"perf_event_open failed: {os.strerror(err)} ({errno.errorcode.get(err, err)})"


def unavailable(event: tuple[int, int] | None = None) -> str | None:
    """None when this process can open the counter; else why not (``why_not``)."""
    if not sys.platform.startswith("linux"):
        return f"hardware counters are read through Linux's perf_event_open; this is {sys.platform}"
    kind, config = event or EVENT
    scope: dict = {}
    exec(_OPEN, scope)  # our own constant source, shared with the launcher
    fd, err = scope["perf_open"](kind, config)
    if fd < 0:
        return why_not(err)
    os.close(fd)
    return None


def count(cmd: list[str] | str, cwd: Path, timeout_s: float | None, env: dict | None = None,
          event: tuple[int, int] | None = None) -> tuple[int, str]:
    """Run ``cmd`` under the counting launcher; its count (every process it started included) and stdout."""
    kind, config = event or EVENT
    fd, name = tempfile.mkstemp(prefix="campaign-count-", suffix=".json")
    os.close(fd)
    report = Path(name)
    argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    try:
        result = run_process([sys.executable, "-I", "-S", "-c", LAUNCHER, name, str(kind), str(config), *argv],
                             Path(cwd), timeout_s, env={"PYTHONHASHSEED": "0", **(env or {})})
        try:
            data = json.loads(report.read_text() or "{}")
        except (OSError, ValueError):
            data = {}
    finally:
        report.unlink(missing_ok=True)
    if result.returncode == COUNTER_FAILED and "errno" in data:
        raise WorkloadError(f"the instruction counter could not be opened: {why_not(int(data['errno']))}")
    if result.timed_out or result.returncode != 0 or not isinstance(data.get("count"), int):
        why = "timed out" if result.timed_out else f"exited with code {result.returncode}"
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise WorkloadError(f"the workload under the instruction counter {why} in {cwd}. Last lines of stderr:\n{tail}")
    return data["count"], result.stdout
