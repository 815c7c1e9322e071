"""A scripted command agent for ``campaign run --parallel`` tests: THINK plans named options, IMPLEMENT writes them.

Each option is (title, predicted speedup, source of work.py, seconds IMPLEMENT sleeps). The agent logs
every call (step, title, cwd, pid) to a JSON-lines file, so a test sees who implemented what, where, and
how often. ``HOLD`` as the seconds: IMPLEMENT sleeps until a file named ``release`` appears beside the
log the second time it is asked (the first ask is the one a kill interrupts).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from run_fixtures import BASE, FAST

FAST_B = FAST.replace("PATTERN", "PERIOD")  # the same idea written differently: conflicts with FAST
WRONG_BUILD = BASE.replace("xs = range(n)", "xs = range(n + 1)")  # touches only the build line: wrong answer

AGENT = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    OPTIONS = {options!r}
    CALLS = Path({calls!r})

    req = json.load(sys.stdin)
    step = req["step"]
    plan = req.get("plan") or {{}}
    with CALLS.open("a") as fh:
        fh.write(json.dumps({{"step": step, "title": plan.get("title"), "cwd": os.getcwd(), "pid": os.getpid(),
                              "parallel": req.get("parallel"), "attempt": req.get("attempt"),
                              "history": req.get("history")}}) + "\\n")
    if step == "think":
        wanted = (req.get("parallel") or {{}}).get("options_wanted") or 1
        busy = set((req.get("parallel") or {{}}).get("in_flight_keys") or [])
        done = {{h.get("key") for h in req.get("history") or []}}
        todo = [o for o in OPTIONS if o[0] not in busy and o[0] not in done][:wanted]
        if not todo:
            print(json.dumps({{"action": "exhausted", "why": "no option left"}}))
            sys.exit(0)
        plans = [{{"title": t, "key": t, "chosen": t, "predicted_speedup": p, "phase": "reduce", "change": t,
                   "override_amdahl": "tried anyway"}} for t, p, _, _ in todo]
        print(json.dumps({{"action": "optimize", "title": todo[0][0], "hypothesis": "the reduce loop dominates",
                           "options": [t for t, _, _, _ in todo], "chosen": todo[0][0],
                           "predicted_speedup": todo[0][1], "risk": "a wrong answer", "phase": "reduce",
                           "change": todo[0][0], "override_amdahl": "tried anyway", "attempts": plans}}))
    elif step == "implement":
        title, _, source, wait = next(o for o in OPTIONS if o[0] == plan["title"])
        if wait == "HOLD":
            asked = sum(1 for line in CALLS.read_text().splitlines()
                        if json.loads(line)["step"] == "implement" and json.loads(line)["title"] == title)
            while asked < 2 and not (CALLS.parent / "release").exists():
                time.sleep(0.2)
        else:
            time.sleep(wait)
        Path("work.py").write_text(source)
        print(json.dumps({{"summary": "wrote " + title, "files": ["work.py"]}}))
    elif step == "log":
        result = req["result"]
        answer = {{"surprise": "Predicted %sx, measured %s" % (result["predicted"], result["speedup"])}}
        if result["postmortem_required"]:
            answer["postmortem"] = {{"why": "the prediction was rough", "lesson": "measure first"}}
        print(json.dumps(answer))
    """
).lstrip()


def write_parallel_agent(tmp_path: Path, options: list[tuple[str, float, str, object]]) -> tuple[str, Path]:
    """The ``--agent-cmd`` of a scripted agent offering ``options``, and its call log."""
    calls = tmp_path / "calls.jsonl"
    script = tmp_path / "parallel_agent.py"
    script.write_text(AGENT.format(options=[list(o) for o in options], calls=str(calls)))
    return f"{sys.executable} {script}", calls


def read_calls(calls: Path) -> list[dict]:
    return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
