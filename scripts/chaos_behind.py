"""Chaos test, "behind the back" mode: git moved under the campaign between and during its steps.

Bounded and seeded, on the same throwaway repository and target as
``scripts/chaos.py`` (whose helpers it reuses). It drives campaigns with the
CLI as an agent following ``campaign status`` would, and around the commands
it does what a user, an agent or a workload may do behind the campaign's
back: commit (``git commit -am``), reset (``--soft`` or ``--hard`` one
commit back), stash (``git stash push -u``), switch branch (a new branch or a
detached HEAD) and delete files (the scope file, the journal, a rendered
log); between two commands, or while one runs. When a command is refused it
follows the way out the message gives (the first `git ...` command in it),
or undoes its own deletion, and runs the command again. Figures:

* events: git moves made; refused: commands refused for them (``git_moved``
  or the tested-tree check), then followed back;
* events lost: every event seen before is still in the journal or its
  protected copy, unchanged;
* unrecorded commits merged: a commit this script made that a FINISH merged
  into main;
* false statuses: a step that succeeded while a commit this script made was
  on the campaign branch (it would have logged, committed or reverted on
  top of code it did not test), plus everything ``chaos.py`` counts as a
  false claim of ``status``;
* stuck: no progress for 25 commands.

Usage: python scripts/chaos_behind.py [--events 50] [--seed 1] [--workdir DIR] [--json]
(or ``python scripts/chaos.py --behind-the-back ...``). Exit status 0 when
every figure is 0 and the run made its events.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chaos as base  # noqa: E402  (scripts/chaos.py: the repository, the target, fill, the checks)

KINDS = ("commit", "reset", "stash", "switch", "delete")
MAX_COMMANDS_PER_EVENT = 10


@dataclass
class Figures:
    seed: int
    events_asked: int
    events: int = 0
    during: int = 0
    per_kind: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    commands: int = 0
    campaigns_started: int = 0
    campaigns_finished: int = 0
    journal_events: int = 0
    events_lost: int = 0
    unrecorded_merged: int = 0
    false_statuses: int = 0
    user_files_changed: int = 0
    stuck: bool = False
    problems: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return (not self.events_lost and not self.unrecorded_merged and not self.false_statuses
                and not self.user_files_changed and not self.stuck and self.events >= self.events_asked)


class Behind(base.Chaos):
    """``chaos.Chaos``'s repository and checks; git moves instead of kills."""

    def __init__(self, events: int, seed: int, workdir: Path, say=print):
        super().__init__(0, seed, workdir, say)
        self.fig = Figures(seed=seed, events_asked=events)
        self.figures.false_claims = 0
        self.made: list[str] = []  # the commits this script made
        self.undo = None  # how to put back the last move when a command refuses it (no git command named)
        self.pending = 0  # commands run since the last move

    # -- the journal: lost means gone from both the journal and its protected copy -----------------

    def _events(self, name: str) -> list[dict]:
        found = []
        for path in (self.repo / "optim" / name / "journal.jsonl", self.repo / ".git" / "campaign" / name / "journal.jsonl"):
            if path.exists():
                events = []
                for line in path.read_bytes().split(b"\n")[:-1]:
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        break
                found.append(events)
        return max(found, key=len) if found else []

    # -- the moves ----------------------------------------------------------------------------------

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=self.repo, capture_output=True, text=True)

    def move(self, during: bool) -> bool:
        """One random move behind the campaign's back; False when it could not be made here."""
        kind = self.rng.choice(KINDS)
        head = self._git("rev-parse", "HEAD").stdout.strip()
        branch = self._git("branch", "--show-current").stdout.strip()
        if kind == "commit":
            n = len(self.made) + 1
            (self.repo / "primes.py").open("a").write(f"\n# behind the back {n}\n") if self.rng.random() < 0.5 else None
            done = self._git("commit", "-qam", f"behind the back {n}")
            if done.returncode:
                done = self._git("commit", "-q", "--allow-empty", "-m", f"behind the back {n}")
            if done.returncode:
                return False
            self.made.append(self._git("rev-parse", "HEAD").stdout.strip())
            self.undo = lambda: self._git("reset", "-q", "--soft", head)
        elif kind == "reset":
            if not self._git("rev-parse", "-q", "--verify", "HEAD~1").stdout.strip() or not branch.startswith("optim"):
                return False
            mode = "--hard" if not self._git("status", "--porcelain", "--", ".", ":!optim").stdout.strip() else "--soft"
            if self._git("reset", "-q", mode, "HEAD~1").returncode:
                return False
            self.undo = lambda: self._git("reset", "-q", "--hard" if mode == "--hard" else "--soft", head)
        elif kind == "stash":
            before = self._git("stash", "list").stdout
            self._git("stash", "push", "-u", "-q")
            if self._git("stash", "list").stdout == before:
                return False
            self.undo = lambda: self._git("stash", "pop", "-q")
        elif kind == "switch":
            if not branch:
                return False
            if self.rng.random() < 0.5:
                done = self._git("switch", "-q", "--detach", "HEAD")
            else:
                done = self._git("switch", "-q", "-c", f"side-{self.fig.events + 1}")
            if done.returncode:
                return False
            self.undo = lambda: self._git("switch", "-q", branch)
        else:
            candidates = [self.repo / "primes.py"]
            if self.name:
                record = self.repo / "optim" / self.name
                candidates += [record / "journal.jsonl", record / "summary.md", record / "optimization_log.md"]
            existing = [p for p in candidates if p.exists()]
            if not existing:
                return False
            victim = self.rng.choice(existing)
            data = victim.read_bytes()
            victim.unlink()
            self.undo = lambda: None if victim.exists() else victim.write_bytes(data)
        self.fig.events += 1
        self.fig.during += during
        self.fig.per_kind[kind] = self.fig.per_kind.get(kind, 0) + 1
        self.pending = 0
        self.say(f"  {'during' if during else 'before'} a step: {kind}")
        return True

    def follow_way_out(self, message: str) -> None:
        """Do what the refusal says (its first `git ...` command), else undo the move; count the refusal."""
        self.fig.refused += 1
        commands = re.findall(r"`(git [^`]+)`", message)
        done = False
        for command in commands[:1]:
            argv = command.split()
            if argv[1:3] == ["rebase", "-i"]:
                break
            result = subprocess.run(argv, cwd=self.repo, capture_output=True, text=True)
            done = result.returncode == 0
        if not done and self.undo is not None:
            self.undo()
        self.undo = None

    # -- driving --------------------------------------------------------------------------------

    def command(self, argv: list[str], during: bool) -> subprocess.CompletedProcess:
        self.fig.commands += 1
        proc = subprocess.Popen([sys.executable, "-m", "campaign", *argv, "--json"], cwd=self.repo, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if during:
            time.sleep(self.rng.uniform(0, 1.5))
            if proc.poll() is None:
                self.move(during=True)
        out, err = proc.communicate(timeout=600)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def next_argv(self) -> list[str] | None:
        status = self.status() if self.name else None
        if status is not None:
            self.check_status(status)
            self.check_merged()
        if self.name is None or (status is not None and status["finished"]):
            if status is not None:
                self.fig.campaigns_finished += 1
            self.fig.campaigns_started += 1
            self.name = f"behind{self.fig.campaigns_started}"
            self.seen[self.name] = []
            status = None
        if status is None:
            return ["init", "--target", "campaign.toml", "--name", self.name, "--goal-speedup", "1000",
                    "--max-iterations", "2"]
        if status["step"] == "try":
            self.edit()
        return base.fill(status["next"]["command"])[1:] + ["--name", self.name]

    def step(self) -> None:
        if self.undo is None and self.rng.random() < 0.5:
            self.move(during=False)
        argv = self.next_argv()
        during = self.undo is None and self.rng.random() < 0.35
        made_before = list(self.made)
        result = self.command(argv, during)
        self.pending += 1
        if result.returncode == 0:
            self.check_nothing_foreign(argv[0], made_before)
        elif result.returncode != 3:
            try:
                error = json.loads(result.stdout)
            except ValueError:
                error = {"code": "?", "message": result.stderr.strip()[-300:]}
            if error.get("code") in ("git_moved", "vcs_error") and (self.undo is not None or self.pending <= 2):
                self.follow_way_out(error.get("message", ""))
        if self.pending > 2:
            self.undo = None

    # -- the checks of this mode ----------------------------------------------------------------------

    def check_nothing_foreign(self, command: str, made_before: list[str]) -> None:
        """A step that succeeded while a commit of ours (made before it started) sat on the campaign branch
        went on on top of it."""
        if not self.name:
            return
        branch = f"optimization/{self.name}"
        if self._git("rev-parse", "-q", "--verify", f"refs/heads/{branch}").returncode:
            return
        on_branch = set(self._git("rev-list", branch).stdout.split())
        foreign = [c for c in made_before if c in on_branch and c in self.made]
        status = self.status()
        if foreign and command not in ("status",) and status is not None and not status.get("finished"):
            self.fig.false_statuses += 1
            self.fig.problems.append(f"{self.name}: `campaign {command}` succeeded with commit(s) "
                                     f"{', '.join(c[:10] for c in foreign)} made behind its back on {branch}")
            for sha in foreign:
                self.made.remove(sha)  # count it once

    def check_merged(self) -> None:
        merged = [c for c in self.made
                  if self._git("merge-base", "--is-ancestor", c, "main").returncode == 0]
        if merged:
            self.fig.unrecorded_merged += len(merged)
            self.fig.problems.append(f"commit(s) made behind the campaign's back merged into main: "
                                     f"{', '.join(c[:10] for c in merged)}")
            for sha in merged:
                self.made.remove(sha)

    def run_behind(self, max_commands: int) -> Figures:
        t0 = time.monotonic()
        progress, stalled = None, 0
        while self.fig.events < self.fig.events_asked:
            if self.fig.commands >= max_commands or stalled > 25:
                self.fig.stuck = True
                self.fig.problems.append(f"no progress after {self.fig.commands} commands")
                break
            self.step()
            self.check_events()
            self.check_user_files()
            now = (self.name, len(self.seen.get(self.name) or []))
            stalled = stalled + 1 if now == progress else 0
            progress = now
        self.check_merged()
        self.fig.events_lost = self.figures.events_lost
        self.fig.false_statuses += self.figures.false_claims
        self.fig.user_files_changed = self.figures.user_files_changed
        self.fig.problems += self.figures.problems
        self.fig.journal_events = sum(len(v) for v in self.seen.values())
        self.fig.wall_s = round(time.monotonic() - t0, 1)
        return self.fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="campaign-chaos-behind-"))
    say = (lambda line: print(line, file=sys.stderr)) if args.json else print
    chaos = Behind(args.events, args.seed, workdir, say)
    figures = chaos.run_behind(max_commands=args.events * MAX_COMMANDS_PER_EVENT)
    result = {**asdict(figures), "ok": figures.ok, "workdir": str(workdir)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key in ("events", "during", "per_kind", "refused", "commands", "campaigns_started", "campaigns_finished",
                    "journal_events", "events_lost", "unrecorded_merged", "false_statuses", "user_files_changed",
                    "stuck", "wall_s"):
            print(f"{key:>20}: {result[key]}")
        for problem in figures.problems:
            print(f"problem: {problem}")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
