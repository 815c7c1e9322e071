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
    assert codecost.touched_functions(None, src, diff) == [{"function": "m", "before": None, "after": 2}]  # lizard's name


def test_a_language_lizard_does_not_read_gives_none_not_zero():
    (diff,) = codecost.parse_patch(unified("notes/x.txt", "a\n", "b\n"))
    assert codecost.touched_functions("a\n", "b\n", diff) is None
    assert codecost.file_cost("notes/x.txt", "a\n", "b\n") == {
        "file": "notes/x.txt", "measured": False, "nloc_before": None, "nloc_after": None,
        "ccn_before": None, "ccn_after": None}


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


C_BEFORE = """\
int count(const int *xs, int n) {
    int c = 0;
    for (int i = 0; i < n; i++)
        c += xs[i];
    return c;
}

int unchanged(void) { return 0; }
"""

C_AFTER = """\
int count(const int *xs, int n) {
    int c = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        c += xs[i] + xs[i + 1] + xs[i + 2] + xs[i + 3];
    }
    for (; i < n; i++) {
        if (xs[i])
            c += xs[i];
    }
    return c;
}

int unchanged(void) { return 0; }
"""


def test_lizard_cost_of_a_c_change(tmp_path):
    patch = unified("src/count.c", C_BEFORE, C_AFTER)
    (diff,) = codecost.parse_patch(patch)
    assert codecost.touched_functions(C_BEFORE, C_AFTER, diff) == [{"function": "count", "before": 2, "after": 4}]
    cost = codecost.file_cost("src/count.c", C_BEFORE, C_AFTER)
    assert cost["measured"] and (cost["ccn_before"], cost["ccn_after"]) == (3, 5)
    assert cost["nloc_before"] == 7 and cost["nloc_after"] == 12

    # the same through code_cost, from a record whose snapshot is the C file (the archive layout)
    from campaign.measure.baseline import write_archive

    record = tmp_path / "record"
    (record / "patches").mkdir(parents=True)
    (record / "patches" / "iter-01-kept.patch").write_text(patch)
    write_archive(record / "baseline_snapshot.tar.gz", [("src/count.c", C_BEFORE.encode(), 0o100644)])
    events = [
        {"schema": 1, "seq": 1, "type": "init", "iteration": None, "data": {"target": {"scope": ["src/*.c"]}}},
        {"schema": 1, "seq": 2, "type": "think", "iteration": 1, "data": {}},
        {"schema": 1, "seq": 3, "type": "implement", "iteration": 1, "data": {"patch": "patches/iter-01-kept.patch"}},
        {"schema": 1, "seq": 4, "type": "log", "iteration": 1, "data": {"kept": True}},
        {"schema": 1, "seq": 5, "type": "commit", "iteration": 1, "data": {"commit": "c1"}},
    ]
    (row,) = codecost.code_cost(record, events)
    assert row["error"] is None and row["kept"] is True
    assert (row["complexity_before"], row["complexity_after"]) == (2, 4)
    assert (row["nloc_before"], row["nloc_after"]) == (7, 12) and row["not_measured"] == []


def test_review_and_the_loop_share_one_scope_matcher():
    """``src/pkg/**/*.py`` matches ``src/pkg/mod.py`` for the loop; with fnmatch the review counted every such
    change out of scope and showed ``+0 -0`` (issue 21 item 6)."""
    from campaign import vcs

    patch = unified("src/pkg/mod.py", BEFORE, AFTER) + unified("src/pkg/sub/deep.py", "a = 1\n", "a = 2\n")
    stats = codecost.patch_stats(patch, ["src/pkg/**/*.py"])
    assert stats["files"] == ["src/pkg/mod.py", "src/pkg/sub/deep.py"] and stats["out_of_scope"] == []
    assert (stats["added"], stats["removed"]) == (10, 2)
    for path in ("src/pkg/mod.py", "src/pkg/sub/deep.py", "docs/x.py", "src/pkg/data.txt"):
        assert codecost.in_scope(path, ["src/pkg/**/*.py"]) == vcs.in_scope(path, ["src/pkg/**/*.py"])
