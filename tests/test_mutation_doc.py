"""docs/mutation.md's table and total come from one run of scripts/mutation_score.py (issue 22 item 10)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("mutation_score", ROOT / "scripts" / "mutation_score.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_generated_table_sums_to_its_total_and_the_headline_says_the_same():
    m = _script()
    per_module = {"campaign/a.py": Counter(killed=160, timeout=2, survived=10),
                  "campaign/b.py": Counter(killed=50, survived=3, **{"no tests": 5})}
    block = m.markdown(per_module, "on X", "facts")
    rows = [line.split("|")[2:7] for line in block.splitlines() if line.startswith("| `")]
    sums = [sum(int(r[i]) for r in rows) for i in range(5)]
    total = next(line for line in block.splitlines() if line.startswith("| **all**")).split("|")[2:7]
    assert [int(x) for x in total] == sums == [230, 212, 2, 13, 5]
    assert "230 mutants, 212 killed, 13 survived, 5 without tests: **92.2%**" in block
    assert "92.2% (212 of 230 mutants\nkilled, each module at 86% or more)" in m.headline(per_module)
    doc = f"intro\n{m.BEGIN}\nold table\n{m.END}\nsurvivors\n"
    assert m.replace_block(doc, block) == f"intro\n{block}\nsurvivors\n"


def test_the_page_and_the_readme_agree_with_the_generated_table():
    m = _script()
    page = (ROOT / "docs" / "mutation.md").read_text()
    block = page[page.index(m.BEGIN):page.index(m.END)]
    rows = [line.split("|")[2:7] for line in block.splitlines() if line.startswith("| `")]
    if not rows:  # not generated yet on this tree
        return
    total = [int(x.strip(" *")) for x in next(line for line in block.splitlines()
                                              if line.startswith("| **all**")).split("|")[2:7]]
    assert total == [sum(int(r[i]) for r in rows) for i in range(5)]
    headline = re.search(r"Mutation score of the pure core: ([\d.]+%) \((\d+) of (\d+) mutants",
                         (ROOT / "README.md").read_text())
    assert headline and (int(headline[2]), int(headline[3])) == (total[1], total[0])
