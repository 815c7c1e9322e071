"""Chaos test: kill ``campaign`` with SIGKILL at random moments of every command, continue as ``status`` says.

Bounded and seeded. On a small ``campaign.toml`` target in a throwaway git
repository it drives campaigns the way an agent following ``campaign
status`` would (init, profile, think, plan, an edit + try, log, decide,
finish, then the next campaign); every other campaign is driven by ``campaign
run`` with a command agent instead (resumed with ``run --resume``). It kills
a seeded share of the commands, each at a point of its critical window: just
before or just after the journal write of one of the events that command
writes (``CAMPAIGN_TEST_KILL_AT``, campaign/loop/killpoint.py: the command
stops there and the script kills it on seeing its marker, so no kill depends
on a wall-clock guess that load can move). Every run kills at least once in
each of ``init``, ``log``, ``revert`` and ``finish`` (the kinds in
``REQUIRED``), then drives its last campaign to its end without kills. Only
the ``campaign`` process is killed, as a crash would; git, a workload or an
agent it had started finish on their own. After every command it checks:

* events lost: every event seen before is still in the journal, unchanged;
* user files changed: files the campaign does not own (everything but the
  scope file, ``optim/`` and ``AGENTS.md``, plus an ignored local file) keep
  their bytes;
* false claims: ``status`` names no commit that git lacks, says FINISHED
  only with the post tag merged, and reports no running command when none
  runs;
* processes left behind: what a killed command had started (git, a
  workload, an agent) must end on its own; whatever is still in the process
  table 60 s after the kill is counted (and killed, when it still runs);
* errors: a command that was not killed exits 0 (or 3 from ``try``: TEST
  failed, which the drive expects) and prints no traceback; and at the end
  every campaign started has finished.

A zombie counts as left behind until it is reaped, not as gone. It no longer
runs, but it is not gone either: it holds a pid and a process-table slot
until its parent waits for it, and a zombie always has a live parent (an
orphan is re-parented to a reaper at once). Either that parent is something
the killed command started (it reaps it when it waits or exits: a short
wait settles it), or a reaper: init, which reaps, or a child subreaper.
``campaign`` makes itself one, but it is the process that was killed; a
subreaper above it that never reaps (as any caller of ``run_process`` was
before only the CLI became one: a pytest process running this script
collected every orphan as a zombie) leaks them, and hiding that by counting
zombies as gone is what this figure must not do. This script is no
subreaper; should its caller make it one, the zombies re-parented to it are
its own to reap, and it reaps them.

Usage: python scripts/chaos.py [--kills 50] [--seed 1] [--workdir DIR] [--json]
Exit status 0 when every figure is 0, the run reached its kill count, killed in each
of ``REQUIRED`` and finished every campaign it started.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_COMMANDS_PER_KILL = 12  # the bound: a run that needs more commands than this per kill is stuck
REQUIRED = ("init", "log", "revert", "finish")  # event types every run kills at (before or after their write)
KILL_AT, KILL_MARKER = "CAMPAIGN_TEST_KILL_AT", "CAMPAIGN_TEST_KILL_MARKER"  # campaign/loop/killpoint.py
COMMAND_DEADLINE_S = 900  # a command neither done nor at its kill point by then is stuck (not a timing figure)

PRIMES = textwrap.dedent(
    """
    def count_primes(n):
        count = 0
        for k in range(2, n):
            d = 2
            while d * d <= k:
                if k % d == 0:
                    break
                d += 1
            else:
                count += 1
        return count
    """
).lstrip()

SIEVE = textwrap.dedent(
    """
    def count_primes(n):
        sieve = bytearray([1]) * max(n, 2)
        sieve[0] = sieve[1] = 0
        for i in range(2, int(n ** 0.5) + 1):
            if sieve[i]:
                sieve[i * i::i] = bytearray(len(range(i * i, n, i)))
        return sum(sieve[:n])
    """
).lstrip()

BENCH = textwrap.dedent(
    """
    import json, sys, time
    import primes

    SIZES = {"fast": 6000, "full": 8000}
    case, repeat = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    warm = []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        count = primes.count_primes(SIZES[case])
        warm.append(time.perf_counter() - t0)
    print(json.dumps({"outputs": {"count": count}, "phases": {"count": warm[-1]}, "warm_s": warm[1:],
                      "first_call_s": warm[0]}))
    """
).lstrip()

TOML = textwrap.dedent(
    """
    [target]
    name = "primes"
    scope = ["primes.py"]
    run = "{python} bench.py {{case}} {{repeat}}"
    fast_case = "fast"
    full_case = "full"
    phases = ["count"]
    timeout_s = 60

    [tolerances]
    count = "exact"
    """
).lstrip()

AGENT = textwrap.dedent(
    """
    import json, random, sys
    from pathlib import Path

    req = json.load(sys.stdin)
    step = req["step"]
    if step == "think":
        phase = (req["campaign"]["open_phases"] or ["count"])[0]
        print(json.dumps({"action": "optimize", "title": "a sieve", "hypothesis": "trial division dominates",
                          "options": ["a sieve"], "chosen": "a sieve", "predicted_speedup": 2, "risk": "off by one",
                          "phase": phase, "change": "replace trial division", "override_amdahl": "chaos test"}))
    elif step == "implement":
        counter = Path(__file__).with_suffix(".count")
        n = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(n))
        rng = random.Random(SEED * 1000 + n)
        path = Path("primes.py")
        text = path.read_text()
        kind = rng.choice(["faster", "same", "broken"])
        if kind == "faster" and text != SIEVE:
            path.write_text(SIEVE)
        elif kind == "broken":
            path.write_text(text + "\\n_real = count_primes\\ncount_primes = lambda n: _real(n) + 1\\n")
        else:
            path.write_text(text + "\\n# variant %d\\n" % rng.randrange(10 ** 6))
        print(json.dumps({"summary": kind, "files": ["primes.py"]}))
    else:
        print(json.dumps({"surprise": "None", "postmortem": {"why": "the prediction was rough", "lesson": "measure"}}))
    """
).lstrip()

FILL = {  # what the "agent" writes for the placeholders status puts in its commands
    "--hypothesis": "trial division dominates",
    "--option": "a sieve: fewer operations, more memory",
    "--chosen": "the sieve",
    "--predict": "2",
    "--risk": "an off-by-one at the bound",
    "--change": "replace trial division",
    "--bottleneck": "the count phase",
    "--surprise": "None",
    "--why": "the prediction was rough",
    "--lesson": "measure first",
}


@dataclass
class Figures:
    seed: int
    kills_asked: int
    kills: int = 0
    commands: int = 0
    campaigns_started: int = 0
    campaigns_finished: int = 0
    events: int = 0
    events_lost: int = 0
    user_files_changed: int = 0
    false_claims: int = 0
    left_behind: int = 0  # processes of a killed command still there (running, or unreaped zombies) 60 s later
    stuck: bool = False
    command_errors: list[str] = field(default_factory=list)  # non-zero exits not caused by a kill (TEST fails: fine)
    unexpected_errors: list[str] = field(default_factory=list)  # the others: any exit but `try`'s 3, a status failure
    tracebacks: list[str] = field(default_factory=list)  # a command that was not killed printed one
    killed_per_command: dict[str, int] = field(default_factory=dict)
    killed_at: dict[str, int] = field(default_factory=dict)  # per kill point, "<event type>:<before|after>"
    problems: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def missing_kinds(self) -> list[str]:
        """The kinds of ``REQUIRED`` no kill has landed in yet."""
        hit = {point.split(":")[0] for point in self.killed_at}
        return [kind for kind in REQUIRED if kind not in hit]

    @property
    def ok(self) -> bool:
        return (not self.events_lost and not self.user_files_changed and not self.false_claims
                and not self.left_behind and not self.stuck and self.kills >= self.kills_asked
                and not self.unexpected_errors and not self.tracebacks and not self.missing_kinds
                and self.campaigns_started > 0 and self.campaigns_finished == self.campaigns_started)


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if check and result.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr}")
    return result.stdout.strip()


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "chaos@example.com")
    git(repo, "config", "user.name", "chaos")
    (repo / "primes.py").write_text(PRIMES)
    (repo / "bench.py").write_text(BENCH)
    (repo / "campaign.toml").write_text(TOML.format(python=sys.executable))
    (repo / "README.txt").write_text("the user's own file: the campaign must never touch it\n")
    (repo / ".gitignore").write_text("__pycache__/\nlocal.cfg\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "naive prime counter")
    (repo / "local.cfg").write_text("an ignored local file of the user's\n")
    return repo


def env(root: Path | None = None) -> dict[str, str]:
    """The commands' environment: small budgets; with ``root``, nothing of the user's (issue 22 item 1).

    Under ``root``: HOME, XDG config/cache dirs, the trust file ``finish`` and ``run`` write to, and a git
    config of its own (an identity for the commits, no system file); no ``CAMPAIGN_*`` of the caller's.
    """
    out = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")} if root else dict(os.environ)
    out.update({
        "PYTHONPATH": os.pathsep.join([str(ROOT)] + ([out["PYTHONPATH"]] if out.get("PYTHONPATH") else [])),
        "CAMPAIGN_BENCH_MAX_BLOCKS": "2", "CAMPAIGN_BENCH_MIN_BLOCKS": "2", "CAMPAIGN_BENCH_BUDGET_S": "3",
        "CAMPAIGN_BENCH_PROCESS_S": "0.02", "CAMPAIGN_BASELINE_REPEAT": "1", "CAMPAIGN_LOCK_TIMEOUT": "5",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    if root is not None:
        home = root / "home"
        (home / ".config").mkdir(parents=True, exist_ok=True)
        (home / ".cache").mkdir(exist_ok=True)
        gitconfig = home / ".gitconfig"
        gitconfig.write_text("[user]\n\tname = chaos\n\temail = chaos@example.com\n")
        if "PYENV_ROOT" not in out and (Path.home() / ".pyenv").is_dir():
            out["PYENV_ROOT"] = str(Path.home() / ".pyenv")  # pyenv's shims find their root by HOME
        out.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
                    "CAMPAIGN_TRUST_FILE": str(home / ".config" / "campaign" / "trusted"),
                    "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"})
    return out


def fill(command: str) -> list[str]:
    """``status``'s next command as argv, placeholders filled, the parenthesised hint dropped."""
    command = command.split("  (")[0]

    def value(match: re.Match) -> str:
        flag = command[: match.start()].split()[-1]
        return shlex.quote(FILL.get(flag, "x"))

    return shlex.split(re.sub(r"'<[^>]*>'|<[^>]*>", value, command))


def _still_there(proc) -> bool:
    """Whether ``proc`` is still in the process table, running or a zombie not yet reaped.

    A zombie that is our own child (only when a caller made this process a
    subreaper) is reaped here: it is then gone, as it should be.
    """
    import psutil

    try:
        if proc.status() != psutil.STATUS_ZOMBIE:
            return proc.is_running()  # False when the pid now names another process
        if proc.ppid() == os.getpid():
            os.waitpid(proc.pid, os.WNOHANG)
            return proc.is_running() and proc.status() == psutil.STATUS_ZOMBIE
        return True
    except (psutil.Error, ChildProcessError):
        return False


def _left_behind(procs, timeout: float) -> list:
    """Wait up to ``timeout`` s for ``procs`` to be gone (ended and reaped); those still there then."""
    deadline = time.monotonic() + timeout
    there = [p for p in procs if _still_there(p)]
    while there and time.monotonic() < deadline:
        time.sleep(0.1)
        there = [p for p in there if _still_there(p)]
    return there


def _describe(proc) -> str:
    import psutil

    try:
        parent = psutil.Process(proc.ppid())
        return f"{proc.name()} (pid {proc.pid}, {proc.status()}; parent {parent.name()}, pid {parent.pid})"
    except psutil.Error:
        return f"pid {proc.pid}"


class Chaos:
    def __init__(self, kills: int, seed: int, workdir: Path, say=print):
        self.rng = random.Random(seed)
        self.figures = Figures(seed=seed, kills_asked=kills)
        self.repo = make_repo(workdir)
        self.agent = workdir / "agent.py"
        self.agent.write_text(f"SEED = {seed}\nSIEVE = {SIEVE!r}\n" + AGENT)
        self.env = env(workdir)
        self.workdir = workdir
        self.say = say
        self.name = None
        self.killing = True
        # the event types each kind of command writes: seeded where the step names its event, learned from
        # every command that ran to its end (log: commit or revert; run: all of them)
        self.writes: dict[str, set[str]] = {"init": {"init"}, "log": {"log"}, "finish": {"finish"}}
        self.seen: dict[str, list[dict]] = {}  # events seen per campaign
        self.lost: set[tuple[str, int]] = set()
        self.owned_by_user = self._user_files()

    # -- the checks -----------------------------------------------------------------------------

    def _user_files(self) -> dict[str, bytes]:
        files = {}
        for path in sorted(self.repo.rglob("*")):
            rel = path.relative_to(self.repo).as_posix()
            if path.is_file() and not rel.startswith((".git/", "optim/")) and rel not in ("primes.py", "AGENTS.md"):
                if "__pycache__" not in rel:
                    files[rel] = path.read_bytes()
        return files

    def check_user_files(self) -> None:
        for rel, data in self.owned_by_user.items():
            path = self.repo / rel
            if not path.exists() or path.read_bytes() != data:
                self.figures.user_files_changed += 1
                self.figures.problems.append(f"user file {rel} changed")
                if path.exists():  # count it once
                    self.owned_by_user[rel] = path.read_bytes()

    def _events(self, name: str) -> list[dict]:
        for path in (self.repo / "optim" / name / "journal.jsonl", self.repo / ".git" / "campaign" / name / "journal.jsonl"):
            if path.exists():
                lines = path.read_bytes().split(b"\n")[:-1]  # whole lines only (a torn tail is reported, not lost)
                events = []
                for line in lines:
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        break
                return events
        return []

    def check_events(self) -> None:
        """Every event seen before is still there, unchanged (each lost event counted once)."""
        for name, before in self.seen.items():
            now = self._events(name)
            lost = [i for i, event in enumerate(before) if (i >= len(now) or now[i] != event)
                    and (name, i) not in self.lost]
            if lost:
                self.lost.update((name, i) for i in lost)
                self.figures.events_lost += len(lost)
                self.figures.problems.append(f"{name}: {len(lost)} event(s) lost or changed")
            self.seen[name] = now if len(now) >= len(before) else before

    def check_status(self, status: dict) -> None:
        claims = []
        if status.get("running"):
            claims.append(f"says {status['running'].get('argv')} is running; nothing runs")
        for it in status.get("iterations") or []:
            sha = it.get("commit")
            if sha and subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=self.repo).returncode:
                claims.append(f"iteration {it['iteration']}: commit {sha} does not exist")
        if status.get("finished"):
            post = (status.get("final") or {}).get("post_tag") or f"{status['name']}/post-optimization"
            # since issue 21 a ref (campaign/<name>/post-optimization), before it a tag
            mark = f"refs/{post}" if post.startswith("campaign/") else f"refs/tags/{post}"
            merged = subprocess.run(["git", "merge-base", "--is-ancestor", mark, "main"], cwd=self.repo,
                                    capture_output=True).returncode == 0
            if not merged:
                claims.append("FINISHED without the post tag merged into main")
        if status.get("step") not in ("init",) and status.get("events", 0) >= 3:
            if subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/optimization/{status['name']}"],
                              cwd=self.repo, capture_output=True).returncode:
                claims.append("past INIT without the campaign branch")
        if claims:
            self.figures.false_claims += len(claims)
            self.figures.problems += [f"{status.get('name')}: {c}" for c in claims]

    # -- driving --------------------------------------------------------------------------------

    def campaign(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "campaign", *args], cwd=self.repo, env=self.env,
                              capture_output=True, text=True, timeout=600)

    def status(self) -> dict | None:
        """``status --json``; None while the campaign does not exist yet (an init killed before its event)."""
        result = self.campaign("status", "--name", self.name, "--json")
        if result.returncode == 0:
            return json.loads(result.stdout)
        if "no campaign named" not in result.stderr:
            self.figures.problems.append(f"status failed: {result.stderr.strip()[:300]}")
            self.figures.unexpected_errors.append(f"status: exit {result.returncode}: {result.stderr.strip()[-300:]}")
        if "Traceback" in result.stderr:
            self.figures.tracebacks.append(f"status: {result.stderr.strip()[-1500:]}")
        return None

    def edit(self) -> None:
        """The "agent" implements something when the scope file is unchanged: faster, the same, or broken."""
        if git(self.repo, "status", "--porcelain", "--", "primes.py"):
            return
        path = self.repo / "primes.py"
        text = path.read_text()
        kind = self.rng.choice(["faster", "same", "broken"])
        if kind == "faster" and text != SIEVE:
            path.write_text(SIEVE)
        elif kind == "broken":
            path.write_text(text + "\n_real = count_primes\ncount_primes = lambda n: _real(n) + 1\n")
        else:
            path.write_text(text + f"\n# variant {self.rng.randrange(10 ** 6)}\n")

    def aim(self, kind: str) -> str | None:
        """Where to kill the next ``kind`` command: ``<event type>:<before|after>``, or None (let it run).

        A kind of ``REQUIRED`` not yet killed in comes first, wherever this command writes it; else a
        seeded 60% of the commands are killed at one of the events their kind writes. A command that
        ends without reaching its point (a ``log`` that commits where a revert was aimed at) is not a kill.
        """
        writes = sorted(self.writes.get(kind, ()))
        if not self.killing or not writes:
            return None
        wanted = [t for t in self.figures.missing_kinds if t in writes]
        if wanted:
            event = wanted[0]
        elif self.rng.random() < 0.6:
            event = self.rng.choice(writes)
        else:
            return None
        return f"{event}:{self.rng.choice(['before', 'after'])}"

    def run_command(self, argv: list[str], kind: str) -> None:
        import psutil

        self.figures.commands += 1
        point = self.aim(kind)
        marker = self.workdir / "killpoint"
        marker.unlink(missing_ok=True)
        seen = len(self._events(self.name)) if self.name else 0
        run_env = self.env if point is None else {**self.env, KILL_AT: point, KILL_MARKER: str(marker)}
        with open(self.workdir / "stderr.txt", "w+") as err_file:  # a file: a pipe left unread could fill up
            proc = subprocess.Popen([sys.executable, "-m", "campaign", *argv], cwd=self.repo, env=run_env,
                                    stdout=subprocess.DEVNULL, stderr=err_file, text=True)
            deadline = time.monotonic() + COMMAND_DEADLINE_S
            while proc.poll() is None and not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.02)  # waiting for an event (its exit, or its marker), not guessing a moment
            if proc.poll() is None:
                at_point = marker.exists()
                try:
                    children = psutil.Process(proc.pid).children(recursive=True)
                except psutil.Error:
                    children = []
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if not at_point:
                    self.figures.stuck = True
                    self.figures.problems.append(f"`campaign {' '.join(argv[:2])}` neither ended nor reached "
                                                 f"{point or 'an end'} in {COMMAND_DEADLINE_S} s")
                    return
                self.figures.kills += 1
                self.figures.killed_per_command[kind] = self.figures.killed_per_command.get(kind, 0) + 1
                self.figures.killed_at[point] = self.figures.killed_at.get(point, 0) + 1
                for child in _left_behind(children, timeout=60):  # what it started (git, a workload) ends on its own
                    self.figures.left_behind += 1
                    self.figures.problems.append(f"{_describe(child)} was still there 60 s after `campaign "
                                                 f"{' '.join(argv[:2])}` was killed")
                    try:
                        child.kill()  # a zombie ignores it; a running one must not burn a core under the next command
                    except psutil.Error:
                        pass
                self.say(f"  killed `campaign {' '.join(argv[:2])}` at {point}")
                return
            err_file.seek(0)
            err = err_file.read()
        if self.name:  # what this kind of command writes, for the next one to be killed at
            self.writes.setdefault(kind, set()).update(e.get("type") for e in self._events(self.name)[seen:])
        if "Traceback" in err:
            self.figures.tracebacks.append(f"{' '.join(argv[:2])}: {err.strip()[-1500:]}")
        if proc.returncode:
            lines = [line for line in err.splitlines() if line.startswith("error:")] or err.splitlines()[-1:]
            message = f"{' '.join(argv[:2])}: {(lines or ['?'])[0][:200]}"
            self.figures.command_errors.append(message)
            if not (kind == "try" and proc.returncode == 3):  # TEST failed: the drive expects it
                self.figures.unexpected_errors.append(f"exit {proc.returncode}: {message}")

    def step(self) -> None:
        status = self.status() if self.name else None
        if status is not None:
            self.check_status(status)
        if self.name is None or (status is not None and status["finished"]):
            if status is not None:
                self.figures.campaigns_finished += 1
            self.figures.campaigns_started += 1
            self.name = f"chaos{self.figures.campaigns_started}"
            self.seen[self.name] = []
            status = None
        options = ["--name", self.name, "--goal-speedup", "1000", "--max-iterations", "2"]
        agent = ["--agent", "command", "--agent-cmd", f"{sys.executable} {self.agent}"]
        if self.figures.campaigns_started % 2 == 0:  # this campaign is driven by `campaign run`
            if status is None:
                self.run_command(["run", "--target", "campaign.toml", *options, *agent], "run")
            else:
                self.run_command(["run", "--resume", "--name", self.name, *agent], "run")
            return
        if status is None:  # not started, or its init was killed before the init event: start it (again)
            self.run_command(["init", "--target", "campaign.toml", *options], "init")
            return
        if status["step"] == "try":
            self.edit()
        self.run_command(fill(status["next"]["command"])[1:] + ["--name", self.name], status["step"])

    def run(self, max_commands: int) -> Figures:
        t0 = time.monotonic()
        progress, stalled = None, 0
        while (self.figures.kills < self.figures.kills_asked or self.figures.missing_kinds) and not self.figures.stuck:
            if self.figures.commands >= max_commands or stalled > 25:
                self.figures.stuck = True
                self.figures.problems.append(f"no progress after {self.figures.commands} commands "
                                             f"(last errors: {self.figures.command_errors[-3:]})")
                break
            self.step()
            self.check_events()
            self.check_user_files()
            now = (self.name, len(self.seen.get(self.name) or []))
            stalled = stalled + 1 if now == progress else 0
            progress = now
        self.killing = False  # the last campaign is driven to its end, every command left to finish
        for _ in range(MAX_COMMANDS_PER_KILL * 3):
            status = self.status() if self.name else None
            if status is not None:
                self.check_status(status)
                if status["finished"]:
                    self.figures.campaigns_finished += 1
                    break
            if self.figures.stuck:
                break
            self.step()
            self.check_events()
            self.check_user_files()
        else:
            self.figures.stuck = True
            self.figures.problems.append(f"{self.name} did not finish without kills")
        self.figures.events = sum(len(v) for v in self.seen.values())
        self.figures.wall_s = round(time.monotonic() - t0, 1)
        return self.figures


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if "--behind-the-back" in args_in:  # git moved under the campaign instead of kills: scripts/chaos_behind.py
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import chaos_behind

        return chaos_behind.main([a for a in args_in if a != "--behind-the-back"])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="campaign-chaos-"))
    say = (lambda line: print(line, file=sys.stderr)) if args.json else print
    chaos = Chaos(args.kills, args.seed, workdir, say)
    figures = chaos.run(max_commands=args.kills * MAX_COMMANDS_PER_KILL)
    result = {**asdict(figures), "missing_kinds": figures.missing_kinds, "ok": figures.ok, "workdir": str(workdir)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key in ("kills", "commands", "campaigns_started", "campaigns_finished", "events", "events_lost",
                    "user_files_changed", "false_claims", "left_behind", "stuck", "killed_per_command", "killed_at",
                    "wall_s"):
            print(f"{key:>20}: {result[key]}")
        print(f"{'command_errors':>20}: {len(figures.command_errors)} (non-zero exits not from a kill, e.g. a failed TEST)")
        print(f"{'unexpected_errors':>20}: {len(figures.unexpected_errors)}")
        print(f"{'tracebacks':>20}: {len(figures.tracebacks)}")
        for problem in figures.problems:
            print(f"problem: {problem}")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
