"""Code cost: lines added/removed in scope and complexity of the touched functions."""

from __future__ import annotations

from campaign.review import codecost

from campaign.review import lint as review
from records import clean_record, unified

BEFORE = '''\
def keep(x):
    return x


def grow(xs):
    return [x * 2 for x in xs]
'''

AFTER = '''\
def keep(x):
    return x


def grow(xs):
    out = []
    for x in xs:
        if x > 0:
            out.append(x * 2)
        elif x < -10:
            out.append(0)
        else:
            out.append(x)
    return out
'''


def test_patch_stats_and_complexity_of_a_crafted_patch():
    patch = unified("pkg/mod.py", BEFORE, AFTER) + unified("docs/notes.txt", "a\n", "a\nb\nc\n")
    stats = codecost.patch_stats(patch, ["pkg/*.py"])
    assert stats == {"files": ["pkg/mod.py"], "added": 9, "removed": 1, "out_of_scope": ["docs/notes.txt"]}
    assert codecost.patch_stats(patch, None)["added"] == 11

    (diff,) = [d for d in codecost.parse_patch(patch) if d.path == "pkg/mod.py"]
    assert diff.removed_lines == [6] and diff.added_lines == list(range(6, 15))
    touched = codecost.touched_functions(BEFORE, AFTER, diff)
    assert touched == [{"function": "grow", "before": 2, "after": 4}]  # keep() untouched, not listed


def test_new_file_and_methods():
    src = "class A:\n    def m(self, x):\n        if x:\n            return 1\n        return 2\n"
    patch = unified("pkg/new.py", None, src)
    (diff,) = codecost.parse_patch(patch)
    assert diff.old_path is None and diff.added == 5 and diff.removed == 0
    assert codecost.touched_functions(None, src, diff) == [{"function": "A.m", "before": None, "after": 2}]


def test_unparsable_source_gives_none():
    (diff,) = codecost.parse_patch(unified("pkg/x.py", "def f(:\n", "def f():\n    pass\n"))
    assert codecost.touched_functions("def f(:\n", "def f():\n    pass\n", diff) is None


def test_code_cost_replays_kept_patches_and_undoes_reverted(tmp_path):
    record = clean_record().write(tmp_path / "r")
    rows = codecost.code_cost(record, review.load_record(record))
    by = {r["iteration"]: r for r in rows}
    assert [r["error"] for r in rows] == [None] * 4  # iter 3 applied on top of 1, with 2 undone
    assert (by[1]["added"], by[1]["removed"]) == (1, 4)
    assert by[2]["kept"] is False and by[2]["functions"] == [{"file": "pkg/core.py", "function": "load", "before": 1, "after": 3}]
    assert {f["function"]: (f["before"], f["after"]) for f in by[4]["functions"]} == {"compute": (2, 6), "_fast": (None, 2)}
    assert (by[4]["complexity_before"], by[4]["complexity_after"]) == (2, 8)


def test_patch_that_does_not_apply_is_reported_not_raised(tmp_path):
    b = clean_record()
    record = b.write(tmp_path / "r")
    (record / "patches" / "iter-03-kept.patch").write_text(unified("pkg/core.py", "nothing like it\n", "x\n"))
    rows = codecost.code_cost(record, review.load_record(record))
    bad = next(r for r in rows if r["iteration"] == 3)
    assert bad["error"] and bad["complexity_before"] is None
    assert next(r for r in rows if r["iteration"] == 1)["error"] is None
