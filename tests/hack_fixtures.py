"""A tiny pure-Python campaign.toml target and a driver that puts one edit through init..try..log.

The hack zoo (tests/test_hack_zoo.py) writes one scripted edit per reward
hack into ``work.py`` (the scope) and asks whether ``campaign log`` keeps it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from loop_fixtures import cli_env, git

WORK = textwrap.dedent(
    """
    def work(n):
        total = 0
        for i in range(n):
            total += (i * i) % 7
        return total
    """
).lstrip()

BENCH = textwrap.dedent(
    """
    import json
    import sys
    import time

    import work

    SIZES = {"fast": 300000, "full": 400000}

    case, repeat = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    n = SIZES[case] + (seed % 1000 if seed is not None else 0)
    t0 = time.perf_counter()
    out = work.work(n)
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = work.work(n)
        warm.append(time.perf_counter() - t0)
    print(json.dumps({"outputs": {"total": out}, "phases": {"work": min(warm) if warm else first},
                      "warm_s": warm, "first_call_s": first}))
    """
).lstrip()

TOML = textwrap.dedent(
    """
    [target]
    name = "work"
    scope = {scope}
    run = "{python} bench.py {{case}} {{repeat}}{seed}"
    phases = ["work"]
    timeout_s = 60{jit}

    [tolerances]
    total = "exact"
    """
).lstrip()


def make_work_repo(root: Path, seeded: bool = False, scope: tuple[str, ...] = ("work.py",), jit: bool = False) -> Path:
    """A committed git repo with work.py (the scope), bench.py and campaign.toml."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    (root / "work.py").write_text(WORK)
    (root / "bench.py").write_text(BENCH)
    (root / "campaign.toml").write_text(TOML.format(python=sys.executable, seed=" {seed}" if seeded else "",
                                                    scope=json.dumps(list(scope)), jit="\njit = true" if jit else ""))
    (root / ".gitignore").write_text("__pycache__/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a slow work(n)")
    return root


def zoo_env(**extra: str) -> dict[str, str]:
    return cli_env(CAMPAIGN_BENCH_MAX_BLOCKS="4", CAMPAIGN_BENCH_MIN_BLOCKS="3", CAMPAIGN_BENCH_BUDGET_S="8", **extra)


def cli(repo: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "campaign", *args], cwd=repo, capture_output=True, text=True,
                          env=env or zoo_env(), timeout=300)


def _json(result: subprocess.CompletedProcess) -> dict:
    assert "Traceback" not in result.stderr, result.stderr
    text = result.stdout.strip()
    return json.loads(text) if text.startswith("{") else {}


def start(repo: Path, env: dict | None = None) -> None:
    """init, profile, think, plan: the campaign waits for an edit and `campaign try`."""
    for args in (("init", "--target", "campaign.toml", "--goal-speedup", "2", "--json"), ("profile", "--json"),
                 ("think", "--hypothesis", "h", "--option", "a", "--chosen", "a", "--predict", "2", "--risk", "r",
                  "--json"),
                 ("plan", "--phase", "work", "--change", "the edit", "--json")):
        result = cli(repo, *args, env=env)
        assert result.returncode == 0, f"{args[0]}: {result.stdout}\n{result.stderr}"


def try_and_log(repo: Path, env: dict | None = None, extra: tuple[str, ...] = ()
                ) -> tuple[dict, dict, subprocess.CompletedProcess]:
    """``campaign try`` then ``campaign log``; (try JSON, log JSON, the log process)."""
    tried = cli(repo, "try", "--json", env=env)
    log_args = ("log", "--surprise", "None", "--why", "w", "--lesson", "l", *extra, "--json")
    logged = cli(repo, *log_args, env=env)
    if logged.returncode != 0 and "changed since" in logged.stderr:  # as a user would: delete what the run left
        for rel in git(repo, "ls-files", "--others", "--exclude-standard").splitlines():
            if not rel.startswith("optim/"):
                (repo / rel).unlink()
        logged = cli(repo, *log_args, env=env)
    return _json(tried), _json(logged), logged


def attempt(tmp: Path, edit, seeded: bool = False, env: dict | None = None, fresh_home: bool = True,
            scope: tuple[str, ...] = ("work.py",), jit: bool = False) -> dict:
    """One campaign whose first attempt is ``edit(repo)``; the outcome of its try and log.

    ``fresh_home``: HOME and TMPDIR of the campaign itself are throwaway folders,
    so a hack that writes into them never touches the user's.
    """
    repo = make_work_repo(tmp / "repo", seeded=seeded, scope=scope, jit=jit)
    env = dict(env or zoo_env())
    if fresh_home:
        for var in ("HOME", "TMPDIR"):
            (tmp / var.lower()).mkdir(exist_ok=True)
            env[var] = str(tmp / var.lower())
    start(repo, env)
    edit(repo)
    # a JIT's runtime costs memory (numba: about 150 MB): a user keeps such a win by accepting it at LOG
    extra = ("--accept-memory", "the JIT's runtime is the price of the compiled kernel") if jit else ()
    tried, logged, proc = try_and_log(repo, env, extra)
    return {"repo": repo, "try": tried, "log": logged, "kept": logged.get("kept") is True,
            "stderr": proc.stderr, "journal": journal_events(repo)}


def journal_events(repo: Path) -> list[dict]:
    path = repo / "optim" / "work" / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}
