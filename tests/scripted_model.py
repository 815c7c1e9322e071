"""The scripted "model" behind every stand-in agent: reads a campaign prompt, decides like a careful engineer would.

It knows the primes target of ``loop_fixtures`` (trial division in
``primes.py``): at iteration 1 it tries a cheaper loop bound (wrong: squares
count as primes, TEST fails), afterwards the sieve (exact, far faster). It
reads only what the prompt says - the step, the iteration, the file to edit,
the measured result - so it works for any adapter that renders the prompt.
"""

from __future__ import annotations

import json
import re

from loop_fixtures import SIEVE

WRONG_OLD, WRONG_NEW = "while d * d <= k:", "while d * d < k:"


def step_of(prompt: str) -> tuple[str | None, int]:
    step = re.search(r"only for this one step: \*\*(\w+)\*\*", prompt)
    iteration = re.search(r"\(iteration (\d+) of at most", prompt)
    return (step.group(1).lower() if step else None), int(iteration.group(1)) if iteration else 0


def scope_file(prompt: str) -> str:
    return re.search(r"Files you may edit \(absolute paths\): `([^`]+)`", prompt).group(1)


def campaign_cli(prompt: str) -> str:
    """The absolute command the prompt gives for campaign's CLI (a tool shell may have lost it from PATH)."""
    return re.search(r"To look, `(.+?) status` is", prompt.replace("\n", " ")).group(1)


def fenced(answer: dict) -> str:
    return "```json\n" + json.dumps(answer, indent=2) + "\n```\n"


def think_answer(iteration: int) -> dict:
    if iteration <= 1:
        return {"action": "optimize", "title": "stop the divisor loop one step earlier",
                "hypothesis": "count_primes is almost all of the run: the trial-division loop runs to sqrt(k)",
                "options": ["tighter loop bound: trivial, small win", "sieve of Eratosthenes: rewrite, big win"],
                "chosen": "tighter loop bound: the smallest change first", "predicted_speedup": 1.1,
                "risk": "the bound could miss a divisor", "phase": "count", "change": "d * d < k instead of <=",
                "bottleneck": "trial division in count_primes", "override_amdahl": None}
    return {"action": "optimize", "title": "sieve of Eratosthenes",
            "hypothesis": "trial division costs O(n sqrt n); the count phase is nearly the whole run",
            "options": ["sieve: O(n log log n), exact", "wheel factorisation: 3x at most"],
            "chosen": "sieve: exact and asymptotically faster", "predicted_speedup": 8.0,
            "risk": "memory for the sieve array (small here)", "phase": "count",
            "change": "replace trial division by a bytearray sieve", "bottleneck": "trial division in count_primes",
            "override_amdahl": None}


def new_source(iteration: int, old: str) -> str:
    """The file after the planned edit of ``iteration``."""
    return old.replace(WRONG_OLD, WRONG_NEW) if iteration <= 1 else SIEVE


def implement_answer(iteration: int) -> dict:
    return {"summary": "loop bound d * d < k" if iteration <= 1 else "count_primes is now a bytearray sieve",
            "files": ["primes.py"]}


def log_answer(prompt: str) -> dict:
    postmortem = None
    if "**required now**" in prompt:
        postmortem = {"why": "the sieve removes the whole sqrt(k) factor, not the fraction I estimated",
                      "lesson": "size predictions from the complexity change, not from intuition"}
    if "TEST FAILED" in prompt:
        surprise = "The bound d * d < k lets perfect squares of primes through as primes: TEST failed."
    else:
        measured = re.search(r"BENCHMARK: (\w+), ([\d.]+)x", prompt)
        surprise = f"Measured {measured.group(2)}x ({measured.group(1)}) against a prediction of 8x." if measured else "None"
    return {"surprise": surprise, "notes": None, "postmortem": postmortem, "keep_reason": None}


def reply(prompt: str) -> str:
    """The whole text reply (prose and a fenced JSON answer) for THINK and LOG; IMPLEMENT's closing summary."""
    step, iteration = step_of(prompt)
    if step == "think":
        return "Looking at the profile, the count phase dominates.\n\n" + fenced(think_answer(iteration))
    if step == "implement":
        return "I made the change.\n\n" + fenced(implement_answer(iteration))
    if step == "log":
        return "Comparing with my prediction:\n\n" + fenced(log_answer(prompt))
    return "I am not sure what is asked."
