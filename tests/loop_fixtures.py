"""Throwaway git repositories with a small slow workload, for the loop's CLI and end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PRIMES = textwrap.dedent(
    """
    def make_numbers(n):
        return list(range(n))


    def count_primes(numbers):
        count = 0
        for k in numbers:
            if k < 2:
                continue
            prime = True
            d = 2
            while d * d <= k:
                if k % d == 0:
                    prime = False
                    break
                d += 1
            if prime:
                count += 1
        return count
    """
).lstrip()

SIEVE = textwrap.dedent(
    """
    def make_numbers(n):
        return list(range(n))


    def count_primes(numbers):
        n = len(numbers)
        if n < 3:
            return 0
        sieve = bytearray([1]) * n
        sieve[0] = sieve[1] = 0
        for i in range(2, int(n ** 0.5) + 1):
            if sieve[i]:
                sieve[i * i::i] = bytearray(len(range(i * i, n, i)))
        return sum(sieve)
    """
).lstrip()

BENCH = textwrap.dedent(
    """
    import json
    import os
    import sys
    import time

    import primes

    SIZES = {"fast": 15000, "full": 18000}


    def once(n):
        t0 = time.perf_counter()
        numbers = primes.make_numbers(n)
        t1 = time.perf_counter()
        count = primes.count_primes(numbers)
        t2 = time.perf_counter()
        return count, {"setup": t1 - t0, "count": t2 - t1}, t2 - t0


    def hold_after_first_run():
        # Kill tests: with PRIMES_HOLD_AFTER=<counter file>, every process after the first (TEST's) blocks
        # until killed, so a kill lands mid-BENCHMARK whatever the machine's load.
        counter = os.environ.get("PRIMES_HOLD_AFTER")
        if counter:
            with open(counter, "a") as fh:
                fh.write(f"{os.getpid()}\\n")
            with open(counter) as fh:
                if len(set(fh.read().split())) > 1:  # a second process
                    while True:
                        time.sleep(1)


    case = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    hold_after_first_run()
    count, phases, first = once(SIZES[case])
    warm = []
    for _ in range(repeat):
        count, phases, elapsed = once(SIZES[case])
        warm.append(elapsed)
    print("counting primes below", SIZES[case])
    print(json.dumps({"outputs": {"count": count}, "phases": phases, "warm_s": warm, "first_call_s": first}))
    """
).lstrip()

TOML = textwrap.dedent(
    """
    [target]
    name = "primes"
    description = "count the primes below n"
    scope = ["primes.py"]
    run = "{python} bench.py {{case}} {{repeat}}"
    fast_case = "fast"
    full_case = "full"
    phases = ["setup", "count"]
    test = "{python} -c 'import primes'"
    timeout_s = {timeout}

    [tolerances]
    count = "exact"
    """
).lstrip()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, run: str | None = None, timeout: float = 60) -> Path:
    """A committed git repo with primes.py, bench.py and campaign.toml; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    (root / "primes.py").write_text(PRIMES)
    (root / "bench.py").write_text(BENCH)
    toml = TOML.format(python=sys.executable, timeout=timeout)
    if run is not None:
        toml = toml.replace(f'run = "{sys.executable} bench.py {{case}} {{repeat}}"', f"run = {json.dumps(run)}")
    (root / "campaign.toml").write_text(toml)
    (root / ".gitignore").write_text("__pycache__/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "naive prime counter")
    return root


def cli_env(**extra: str) -> dict[str, str]:
    """The CLI's environment for a test: small budgets over ``os.environ``, which tests/conftest.py has
    already isolated (own HOME, XDG dirs, trust file and git config; no CAMPAIGN_* of the caller's)."""
    env = dict(os.environ)
    env.update({
        "CAMPAIGN_BENCH_MAX_BLOCKS": "3",
        "CAMPAIGN_BENCH_MIN_BLOCKS": "2",
        "CAMPAIGN_BENCH_BUDGET_S": "6",
        "CAMPAIGN_BENCH_PROCESS_S": "0.02",
        "CAMPAIGN_BASELINE_REPEAT": "1",
        "CAMPAIGN_LOCK_TIMEOUT": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(extra)
    return env


def campaign(cwd: Path, *args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the real ``campaign`` CLI in a subprocess."""
    return subprocess.run([sys.executable, "-m", "campaign", *args], cwd=cwd, capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout)


def finished_record(repo: Path, name: str) -> Path:
    """Where a finished campaign's record is read: FINISH merges only the code change, the record stays in git
    (``campaign/loop/record_store.py``; this is the copy ``status``, ``review`` and ``replay`` read)."""
    from campaign.loop.session import Campaign

    return Campaign.open(repo, name).record_dir
