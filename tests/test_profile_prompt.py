"""The prompt's "Top functions" list, one function a line, without interpreter start-up (issue 23, item 17)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from campaign.agents.prompts import render_prompt
from campaign.agents.protocol import build_request
from campaign.measure.profile_noise import is_noise

TOP = [{"function": name, "file": "primes.py", "line": n, "cumtime": 0.05, "ncalls": 1}
       for n, name in enumerate(("count_primes", "make_numbers", "main"), 1)]
CONTEXT = {"campaign": {"name": "primes", "goal_speedup": 2.0}, "scope": ["primes.py"],
           "profile": {"total_s": 0.1, "shares": {"count": 0.9, "setup": 0.1}, "amdahl": {"count": 10.0, "setup": 1.1},
                       "top_functions": TOP}}


def test_top_functions_are_one_a_line():
    prompt = render_prompt(build_request("think", CONTEXT))
    lines = [line for line in prompt.splitlines() if line.startswith("- `") and "primes.py:" in line]
    assert [line.split("`")[1] for line in lines] == ["count_primes", "make_numbers", "main"], prompt


def test_interpreter_start_up_frames_are_noise_and_user_code_is_not():
    for frame in ("<built-in method builtins.compile>", "<built-in method marshal.loads>",
                  "<built-in method builtins.print>", "<built-in method builtins.exec>",
                  "<method 'read' of '_io.BufferedReader' objects>"):
        assert is_noise("~", frame), frame
    assert not is_noise("~", "<built-in method builtins.sorted>")
    assert not is_noise("primes.py", "count_primes")


def test_a_script_profile_lists_no_start_up_frames(tmp_path):
    (tmp_path / "work.py").write_text(textwrap.dedent("""
        import json
        def busy(n):
            return sum(i * i for i in range(n))
        print(json.dumps({"outputs": {"x": busy(200000)}}))
    """))
    out = subprocess.run([sys.executable, "-m", "campaign.measure.script_profile_worker", "--out", "prof.json",
                          "--top", "8", "--script", "work.py"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    top = json.loads((tmp_path / "prof.json").read_text())["top_functions"]
    names = [r["function"] for r in top]
    assert "busy" in names or "<genexpr>" in names, names
    assert not [n for n in names if any(w in n for w in ("compile", "marshal", "builtins.print", "builtins.exec"))]
    assert not [r for r in top if r["function"] == "<module>" and r["file"].startswith("/")], top
