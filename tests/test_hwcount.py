"""Instruction counts by the CPU's counters (perf_event_open), callgrind where there are none.

This project's machines are virtual and expose no hardware counters (ENOENT), so the real syscalls are
exercised with a software event the kernel always has, page faults, through the very same launcher and
difference method: ``hwcount.EVENT`` is the only thing replaced. A page fault count is set by what the code
allocates, so load cannot move it.
"""

from __future__ import annotations

import errno
import sys
import textwrap

import pytest

from campaign.measure import bench, callgrind, hwcount
from campaign.measure.workload import WorkloadError

PAGE_FAULTS = (1, 2)  # PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS
MB = 1 << 20

TOY = textwrap.dedent('''
    import mmap

    from campaign.plugins.target import PythonTarget

    SIZE_MB = {mb}


    class FaultToy(PythonTarget):
        name = "fault_toy"

        def run_case(self, case, workdir, knobs=None):
            with mmap.mmap(-1, SIZE_MB << 20) as block:  # fresh pages each call: one fault per 4 KiB touched
                block.madvise(mmap.MADV_NOHUGEPAGE)  # 4 KiB pages even where huge pages are always on
                for offset in range(0, len(block), 4096):
                    block[offset] = 1
                return {{"bytes": len(block)}}
''')


@pytest.fixture
def software_counter(monkeypatch):
    why = hwcount.unavailable(PAGE_FAULTS)
    if why is not None:
        pytest.skip(f"this kernel lets no process count itself: {why}")
    monkeypatch.setattr(hwcount, "EVENT", PAGE_FAULTS)


def _variant(root, name: str, mb: int):
    from campaign.plugins.loading import load_target

    path = root / name
    path.mkdir()
    (path / "fault_toy.py").write_text(TOY.format(mb=mb))
    sys.path.insert(0, str(path))
    try:
        return load_target("fault_toy:FaultToy"), path
    finally:
        sys.path.remove(str(path))
        sys.modules.pop("fault_toy", None)


def test_why_the_counters_cannot_be_opened_is_said_in_the_users_terms():
    assert "virtual PMU" in hwcount.why_not(errno.ENOENT)
    assert "perf_event_paranoid" in hwcount.why_not(errno.EACCES)
    assert "perf_event_paranoid" in hwcount.why_not(errno.EPERM)
    assert "ENOSYS" in hwcount.why_not(errno.ENOSYS)
    assert "EINVAL" in hwcount.why_not(errno.EINVAL)


def test_an_event_the_kernel_does_not_know_is_unavailable_and_says_why(software_counter):
    assert hwcount.unavailable(PAGE_FAULTS) is None
    why = hwcount.unavailable((99, 0))
    assert why is not None and ("perf_event_open" in why or "PMU" in why)


def test_the_launcher_counts_the_workload_and_every_process_it_starts(software_counter, tmp_path):
    # sh starts python, which touches 64 MiB: the counter follows both, and campaign reads it after they exit
    big, _ = hwcount.count(f"{sys.executable} -c 'bytearray(64 << 20)'", tmp_path, 60)
    small, out = hwcount.count([sys.executable, "-c", "print('ok')"], tmp_path, 60)
    assert out.strip() == "ok"
    assert big - small >= 0.9 * (64 * MB // 4096), (big, small)


def test_a_counter_that_cannot_be_opened_and_a_failing_workload_are_errors(software_counter, tmp_path):
    with pytest.raises(WorkloadError, match="could not be opened"):
        hwcount.count([sys.executable, "-c", "pass"], tmp_path, 60, event=(99, 0))
    with pytest.raises(WorkloadError, match="exited with code 3"):
        hwcount.count([sys.executable, "-c", "raise SystemExit(3)"], tmp_path, 60)


def test_the_counters_read_one_warm_run_by_the_difference_method(software_counter, tmp_path):
    target, small = _variant(tmp_path, "small", 8)
    _, large = _variant(tmp_path, "large", 32)
    counts = bench._count_instructions(target, "fast", {"small": small, "large": large}, None, 120, lambda _: None)
    assert {c["counter"] for c in counts.values()} == {"perf_event_open"}
    assert all(c["method"].startswith("(Ir(repeat=2) - Ir(repeat=0))") for c in counts.values())
    # one warm run touches SIZE_MB MiB of fresh pages: start-up, imports and the cold call are subtracted
    assert counts["small"]["per_run"] == pytest.approx(8 * MB / 4096, rel=0.25)
    assert counts["large"]["per_run"] / counts["small"]["per_run"] == pytest.approx(4, rel=0.2)


def test_without_counters_callgrind_counts_and_the_reason_is_kept(monkeypatch):
    monkeypatch.setattr(hwcount, "unavailable", lambda event=None: "no PMU here")
    monkeypatch.setattr(callgrind, "valgrind_version", lambda: "valgrind-3.19.0")
    assert callgrind.pick_counter() == ("callgrind", "no PMU here")

    def missing():
        raise callgrind.CallgrindError("instruction counts need valgrind, which is not installed")

    monkeypatch.setattr(callgrind, "valgrind_version", missing)
    with pytest.raises(callgrind.CallgrindError, match=r"not installed \(hardware counters: no PMU here\)"):
        callgrind.pick_counter()
    monkeypatch.setattr(hwcount, "unavailable", lambda event=None: None)
    assert callgrind.pick_counter() == ("perf_event_open", None)
