"""A builder of crafted campaign records, for the review and report tests.

``clean_record()`` is a disciplined 4-iteration campaign (3 kept, 1 reverted
with its postmortem, a full-scale validation at the 3rd kept iteration) with
real patches against a small ``baseline_snapshot/``. ``DEFECTS`` maps each
review rule id to a function that breaks exactly that rule in a clean record.

Events are plain dicts as in ``journal.jsonl``; ``write`` numbers them (seq)
in list order, so a test can reorder, edit or insert events freely.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Callable

SCOPE = ["pkg/*.py"]

CORE_0 = '''\
def load(path):
    with open(path) as f:
        return f.read().split()


def compute(values):
    total = 0
    for v in values:
        total += v * v
    return total


def report(total):
    return f"total={total}"
'''

CORE_1 = CORE_0.replace(
    '''    total = 0
    for v in values:
        total += v * v
    return total
''',
    '''    return sum(v * v for v in values)
''',
)

CORE_2_REVERTED = CORE_1.replace(
    '''def load(path):
    with open(path) as f:
        return f.read().split()
''',
    '''_CACHE = {}


def load(path):
    if path in _CACHE:
        return _CACHE[path]
    with open(path) as f:
        words = f.read().split()
    if len(words) < 1000:
        _CACHE[path] = words
    return words
''',
)

CORE_3 = CORE_1.replace(
    '''def report(total):
    return f"total={total}"
''',
    '''def report(total):
    if total is None:
        return "total=?"
    return "total=%d" % total
''',
)

CORE_4 = CORE_3.replace(
    '''def compute(values):
    return sum(v * v for v in values)
''',
    '''def compute(values):
    if isinstance(values, list) and values and all(isinstance(v, int) for v in values):
        return _fast(values)
    return sum(v * v for v in values)


def _fast(values):
    acc = 0
    for v in values:
        acc += v * v
    return acc
''',
)


def unified(path: str, before: str | None, after: str | None) -> str:
    old = (before or "").splitlines(keepends=True)
    new = (after or "").splitlines(keepends=True)
    head = f"diff --git a/{path} b/{path}\n"
    if before is None:
        head += "new file mode 100644\n"
    body = difflib.unified_diff(
        old, new, fromfile="/dev/null" if before is None else f"a/{path}", tofile=f"b/{path}", n=3
    )
    return head + "".join(body)


class RecordBuilder:
    """Events, patches, snapshot and rendered logs of one crafted record."""

    def __init__(self, snapshot: dict[str, str]):
        self.events: list[dict[str, Any]] = []
        self.snapshot = dict(snapshot)
        self.state = dict(snapshot)  # the scope files after the kept patches so far
        self.patches: dict[str, str] = {}

    def add(self, type: str, iteration: int | None = None, **data: Any) -> dict[str, Any]:
        event = {"schema": 1, "type": type, "iteration": iteration, "data": data}
        self.events.append(event)
        return event

    def find(self, type: str, iteration: int | None) -> dict[str, Any]:
        return next(e for e in self.events if e["type"] == type and e["iteration"] == iteration)

    def change(self, iteration: int, kept: bool, files: dict[str, str]) -> str:
        name = f"iter-{iteration:02d}-{'kept' if kept else 'reverted'}.patch"
        self.patches[name] = "".join(unified(p, self.state.get(p), text) for p, text in files.items())
        if kept:
            self.state.update(files)
        return f"patches/{name}"

    # ------------------------------------------------------------------ the steps of one iteration

    def iteration(
        self,
        n: int,
        *,
        phase: str,
        predicted: float,
        measured: float,
        ci: tuple[float, float],
        cumulative: float,
        kept: bool,
        files: dict[str, str],
        surprise: str = "None - it matched the prediction.",
        postmortem: dict[str, str] | None = None,
        full: dict[str, Any] | None = None,
        bottleneck: str | None = None,
        share: float = 0.5,
    ) -> None:
        self.add("think", n, hypothesis=f"{phase} dominates", options=["a", "b"], chosen="a", predicted_speedup=predicted, risk="low")
        self.add("plan", n, phase=phase, change=f"iteration {n} change", bottleneck=bottleneck or phase, phase_share=share, amdahl_bound=1 / (1 - share), override=None)
        patch = self.change(n, kept, files)
        self.add("implement", n, files=list(files), patch=patch, patch_sha256="0" * 64, out_of_scope=[], agent="test")
        self.add("test", n, passed=True, failures=[], test_command=None, out_of_scope=[])
        verdict = "faster" if ci[0] > 1 else ("slower" if ci[1] < 1 else "inconclusive")
        self.add(
            "benchmark", n, case="fast", verdict=verdict, speedup=measured, ci=list(ci),
            vs_baseline={"speedup": cumulative, "ci": [cumulative * ci[0] / measured, cumulative * ci[1] / measured]},
            cumulative_speedup=cumulative, phases={phase: measured}, candidate={"warm_s": 1.0 / cumulative, "first_call_s": None, "compile_s": None},
            reference={"warm_s": 1.0, "first_call_s": None, "compile_s": None}, metric="wall", blocks=5,
            samples={"a": [1.0], "b": [1.0 / measured]}, full=full, environment={},
        )
        self.add("log", n, surprise=surprise, notes="", postmortem=postmortem, kept=kept, keep_reason="faster" if kept else None)
        if kept:
            self.add("commit", n, commit=f"{n:07x}abc", message=f"optim iter {n}")
        else:
            self.add("revert", n, to_commit="0000001abc", reason="slower", patch=patch)
        self.add("decide", n, stop=False, rule="none", reason="continue")

    # ------------------------------------------------------------------ writing

    def write(self, root: Path) -> Path:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "journal.jsonl", "w", encoding="utf-8") as out:
            for seq, event in enumerate(self.events, start=1):
                event["seq"] = seq
                event.setdefault("ts", f"2026-11-23T04:{seq // 60:02d}:{seq % 60:02d}+00:00")
                out.write(json.dumps(event, sort_keys=True) + "\n")
        for name, text in self.patches.items():
            (root / "patches").mkdir(exist_ok=True)
            (root / "patches" / name).write_text(text, encoding="utf-8")
        for rel, text in self.snapshot.items():
            path = root / "baseline_snapshot" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (root / "baseline.json").write_text(json.dumps({"commit": "0000001abc", "phases": {}}), encoding="utf-8")
        (root / "optimization_log.md").write_text(self.optimization_log(), encoding="utf-8")
        (root / "thinking_log.md").write_text(self.thinking_log(), encoding="utf-8")
        return root

    def _of(self, type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type]

    def optimization_log(self) -> str:
        lines = ["# Optimization log: crafted", ""]
        for log in self._of("log"):
            n = log["iteration"]
            plan = self.find("plan", n)["data"]
            bench = self.find("benchmark", n)["data"]
            think = self.find("think", n)["data"]
            lines += [
                f"## Iteration {n}: {plan['change']}",
                f"**Target:** {plan['phase']}",
                f"**Prediction:** {think['predicted_speedup']}x",
                f"**Result:** {bench['speedup']}x (cumulative: {bench['cumulative_speedup']}x over baseline)",
                "**Correctness:** PASS",
                f"**Surprise:** {log['data']['surprise']}",
                f"**Notes:** {log['data']['notes']}",
                "",
            ]
        return "\n".join(lines)

    def thinking_log(self) -> str:
        lines = ["# Thinking journal: crafted", ""]
        for think in self._of("think"):
            n, d = think["iteration"], think["data"]
            lines += [
                f"### Before Iteration {n}",
                f"- **Current bottleneck hypothesis:** {d['hypothesis']}",
                f"- **Options considered:** {', '.join(d['options'])}",
                f"- **Chosen approach:** {d['chosen']}",
                f"- **Prediction:** {d['predicted_speedup']}x",
                f"- **Risk:** {d['risk']}",
                "",
            ]
            log = next((e for e in self._of("log") if e["iteration"] == n), None)
            if log and log["data"]["postmortem"]:
                pm = log["data"]["postmortem"]
                lines += [f"### Postmortem — Iteration {n}", f"- **Why:** {pm['why']}", f"- **Lesson:** {pm['lesson']}", ""]
        return "\n".join(lines)


def profile(b: RecordBuilder, phases: dict[str, float]) -> None:
    total = sum(phases.values())
    shares = {k: v / total for k, v in phases.items()}
    b.add(
        "profile", None, commit="abc", case="fast", phases=phases, shares=shares,
        amdahl={k: 1 / (1 - s) if s < 1 else None for k, s in shares.items()}, total_s=total,
        top_functions=[], lines={},
    )


def clean_record(surprise_1: str = "None - it matched the prediction.") -> RecordBuilder:
    b = RecordBuilder({"pkg/core.py": CORE_0, "README.txt": "not in scope\n"})
    b.add(
        "init", None, name="crafted", target_spec="crafted", target={"name": "crafted", "scope": SCOPE, "phases": ["load", "compute", "report", "io"]},
        goal_speedup=2.5, max_iterations=15, min_gain=0.05, postmortem_factor=1.5, start_branch="main",
        branch="optim/crafted", pre_tag="pre-optimization-crafted", base_commit="0000001abc", workspace="/tmp/ws",
    )
    b.add("baseline", None, commit="0000001abc", dirty=False, case="fast", outputs={"total": 1}, phases={"load": 0.2, "compute": 0.7, "report": 0.08, "io": 0.02}, warm_s=1.0, first_call_s=1.2, compile_s=None, environment={}, snapshot="baseline_snapshot")
    profile(b, {"load": 0.2, "compute": 0.7, "report": 0.08, "io": 0.02})
    b.iteration(1, phase="compute", predicted=2.0, measured=1.9, ci=(1.7, 2.1), cumulative=1.9, kept=True, files={"pkg/core.py": CORE_1}, surprise=surprise_1, share=0.7)
    profile(b, {"load": 0.2, "compute": 0.37, "report": 0.08, "io": 0.02})
    b.iteration(
        2, phase="load", predicted=1.5, measured=0.9, ci=(0.85, 0.95), cumulative=1.71, kept=False,
        files={"pkg/core.py": CORE_2_REVERTED}, share=0.30,
        surprise="The cache never hit: every path is read once.",
        postmortem={"why": "paths are unique per run", "lesson": "check reuse before caching"},
    )
    b.iteration(3, phase="report", predicted=1.2, measured=1.25, ci=(1.15, 1.3), cumulative=2.375, kept=True, files={"pkg/core.py": CORE_3}, share=0.12)
    full = {"case": "full", "speedup": 2.8, "ci": [2.6, 3.0], "verdict": "faster"}
    b.iteration(4, phase="compute", predicted=1.1, measured=1.12, ci=(1.05, 1.2), cumulative=2.66, kept=True, files={"pkg/core.py": CORE_4}, full=full, share=0.55)
    b.find("decide", 4)["data"].update(stop=True, rule="goal", reason="goal 2.5x reached")
    profile(b, {"load": 0.2, "compute": 0.12, "report": 0.03, "io": 0.02})
    b.add("finish", None, post_tag="post-optimization-crafted", merged_into="main", final_speedup=2.66, ci=[2.5, 2.8], full=full, dominant_phase="load")
    return b


# ---------------------------------------------------------------------- one defect per rule


def _no_surprise(b: RecordBuilder) -> None:
    b.find("log", 3)["data"]["surprise"] = "  "


def _late_prediction(b: RecordBuilder) -> None:
    think = b.find("think", 3)
    b.events.remove(think)
    b.events.insert(b.events.index(b.find("benchmark", 3)) + 1, think)


def _kept_no_evidence(b: RecordBuilder) -> None:
    b.find("benchmark", 3)["data"].update(ci=[0.97, 1.4], verdict="inconclusive")


def _small_phase(b: RecordBuilder) -> None:
    b.find("plan", 3)["data"].update(phase="io", bottleneck="io", phase_share=0.03)


def _no_postmortem(b: RecordBuilder) -> None:
    b.find("log", 2)["data"]["postmortem"] = None


def _no_full(b: RecordBuilder) -> None:
    b.find("benchmark", 4)["data"]["full"] = None


def _early_skip(b: RecordBuilder) -> None:
    skip = {"schema": 1, "type": "skip", "iteration": 2, "data": {"bottleneck": "load", "why": "stuck", "failed_attempts": 3}}
    b.events.insert(b.events.index(b.find("decide", 2)), skip)


def _behind_runner(b: RecordBuilder) -> None:
    """A `campaign run` wrote every event, except a THINK that an agent's shell ran in the middle of it."""
    for event in b.events:
        event["writer"] = {"by": "runner", "run": "0123456789abcdef", "pid": 10}
    b.find("think", 3)["writer"] = {"by": "command", "command": "campaign think --predict 3x", "pid": 11}


DEFECTS: dict[str, Callable[[RecordBuilder], None]] = {
    "surprise-missing": _no_surprise,
    "prediction-after-result": _late_prediction,
    "kept-without-evidence": _kept_no_evidence,
    "phase-under-5pct": _small_phase,
    "postmortem-missing": _no_postmortem,
    "full-validation-skipped": _no_full,
    "skip-without-3-failures": _early_skip,
    "written-behind-runner": _behind_runner,
}
DEFECT_ITERATION = {
    "surprise-missing": 3,
    "prediction-after-result": 3,
    "kept-without-evidence": 3,
    "phase-under-5pct": 3,
    "postmortem-missing": 2,
    "full-validation-skipped": 4,
    "skip-without-3-failures": 2,
    "written-behind-runner": 3,
}
