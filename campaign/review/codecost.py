"""What each speedup cost in code: lines and cyclomatic complexity per iteration, in any language.

For every iteration with a recorded patch: the lines added and removed in the
target's scope (counted from the patch); per changed source file, its NLOC
(lines of code, without comments and blanks) and summed cyclomatic
complexity before and after; and the complexity of each function the patch
touched. Measured with lizard, one analyser for C, C++, Java, JavaScript,
TypeScript, Go, Rust, Python and the other languages it reads, so a C
campaign is costed like a Python one; a file in no language lizard knows is
listed as not measured, never as zero.

The before/after sources are rebuilt from the record alone: the baseline
snapshot unpacked in a temporary directory, to which the iterations'
patches are applied in journal order with ``git apply`` (a kept patch stays
applied; a reverted one is measured and then undone by restoring the files
it touched). ``git apply`` rather than an applier of our own: it is the tool
that wrote the patches' format, it refuses a patch that does not fit instead
of guessing, and git is already a dependency of every campaign.

``patch_stats`` and ``touched_functions`` are pure; ``code_cost`` does the I/O.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaign.measure.baseline import BaselineError, extract_snapshot
from campaign.loop.record import Implement, Init
from campaign.review.record_events import Event, first_of, is_kept, iteration_events, iterations, last_of, typed

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class FileDiff:
    old_path: str | None  # None: a new file
    new_path: str | None  # None: a deleted file
    added: int = 0
    removed: int = 0
    added_lines: list[int] = field(default_factory=list)  # line numbers in the new file
    removed_lines: list[int] = field(default_factory=list)  # line numbers in the old file

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def _strip(path: str) -> str | None:
    path = path.split("\t")[0].strip()
    if path == "/dev/null":
        return None
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


def parse_patch(text: str) -> list[FileDiff]:
    """The files of a unified diff (git or plain) with their changed line numbers."""
    files: list[FileDiff] = []
    current: FileDiff | None = None
    old_no = new_no = 0
    old_left = new_left = 0
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if current is not None and (old_left > 0 or new_left > 0):  # in a hunk
            if line.startswith("+"):
                current.added += 1
                current.added_lines.append(new_no)
                new_no += 1
                new_left -= 1
            elif line.startswith("-"):
                current.removed += 1
                current.removed_lines.append(old_no)
                old_no += 1
                old_left -= 1
            elif line.startswith("\\"):
                pass  # "\ No newline at end of file"
            else:  # context (a blank context line may have lost its space)
                old_no += 1
                new_no += 1
                old_left -= 1
                new_left -= 1
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            current = FileDiff(_strip(line[4:]), _strip(lines[i + 1][4:]))
            files.append(current)
            i += 1
        elif (m := _HUNK.match(line)) and current is not None:
            old_no, new_no = int(m.group(1)), int(m.group(3))
            old_left = int(m.group(2)) if m.group(2) is not None else 1
            new_left = int(m.group(4)) if m.group(4) is not None else 1
        i += 1
    return files


def in_scope(path: str, scope: list[str] | None) -> bool:
    """The loop's own scope matcher (``campaign.vcs.in_scope``: ``**`` spans zero or more folders), so the
    review counts exactly the files IMPLEMENT was allowed to change; no scope counts everything."""
    from campaign.vcs import in_scope as loop_in_scope

    return True if not scope else loop_in_scope(path, scope)


def patch_stats(text: str, scope: list[str] | None = None) -> dict[str, Any]:
    """Lines added/removed by a patch, in scope and in all."""
    files = parse_patch(text)
    scoped = [f for f in files if in_scope(f.path, scope)]
    return {
        "files": [f.path for f in scoped],
        "added": sum(f.added for f in scoped),
        "removed": sum(f.removed for f in scoped),
        "out_of_scope": [f.path for f in files if f not in scoped],
    }


def measurable(path: str) -> bool:
    """True when lizard reads the language of ``path`` (by its extension)."""
    import lizard

    return lizard.get_reader_for(path) is not None


def analyse(path: str, source: str | None):
    """lizard's analysis of ``source`` as the file ``path`` (None: no source, or a language lizard does not read)."""
    if source is None or not measurable(path):
        return None
    import lizard

    return lizard.analyze_file.analyze_source_code(path, source)


def functions(source: str | None, path: str = "module.py") -> dict[str, tuple[int, int, int]] | None:
    """``{name: (first line, last line, complexity)}`` of every function; None in a language lizard does not read.

    Names are lizard's (``f``, ``f.inner``, ``Class::method`` in C++); a name
    that repeats gets `` #2``, `` #3`` in file order.
    """
    if source is None:
        return {}
    info = analyse(path, source)
    if info is None:
        return None
    out: dict[str, tuple[int, int, int]] = {}
    for func in info.function_list:
        name, k = func.name, 2
        while name in out:
            name, k = f"{func.name} #{k}", k + 1
        out[name] = (func.start_line, func.end_line, func.cyclomatic_complexity)
    return out


def file_cost(path: str, before: str | None, after: str | None) -> dict[str, Any]:
    """NLOC and summed cyclomatic complexity of one file before -> after (None: absent, or not measurable)."""
    old, new = analyse(path, before), analyse(path, after)
    return {
        "file": path,
        "measured": measurable(path),
        "nloc_before": old.nloc if old else None,
        "nloc_after": new.nloc if new else None,
        "ccn_before": sum(f.cyclomatic_complexity for f in old.function_list) if old else None,
        "ccn_after": sum(f.cyclomatic_complexity for f in new.function_list) if new else None,
    }


def touched_functions(before: str | None, after: str | None, diff: FileDiff) -> list[dict[str, Any]] | None:
    """Complexity before/after of each function whose lines the diff changed (None: not a language lizard reads)."""
    old, new = functions(before, diff.path), functions(after, diff.path)
    if old is None or new is None:
        return None
    names: list[str] = []
    for funcs, changed in ((old, diff.removed_lines), (new, diff.added_lines)):
        for name, (lo, hi, _) in funcs.items():
            if name not in names and any(lo <= n <= hi for n in changed):
                names.append(name)
    return [
        {"function": name, "before": old[name][2] if name in old else None, "after": new[name][2] if name in new else None}
        for name in names
    ]


def _resolve_patch(record: Path, iteration: int, implement: Event | None) -> Path | None:
    rel = typed(implement, Implement).patch
    if rel:
        for candidate in (record / rel, record / "patches" / rel):
            if candidate.is_file():
                return candidate
    found = sorted((record / "patches").glob(f"iter-{iteration:02d}-*.patch"))
    return found[0] if found else None


def _git_apply(workdir: Path, patch: Path) -> str | None:
    proc = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", str(patch)], cwd=workdir, capture_output=True, text=True
    )
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"git apply exited {proc.returncode}")


def _scope(events: list[Event]) -> list[str]:
    """The target's scope as ``init`` recorded it (empty: everything counts)."""
    return typed(first_of(events, "init"), Init).scope


def _unpack(record: Path, work: Path) -> str | None:
    """The baseline snapshot in ``work``, in a git repository of its own; the reason when there is none."""
    try:
        extract_snapshot(record, work)
        no_snapshot = None
    except BaselineError as exc:
        work.mkdir(exist_ok=True)
        no_snapshot = str(exc)
    # its own repository, so that git apply resolves paths here and nowhere above
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, capture_output=True)
    return no_snapshot


def code_cost(record_dir: Path, events: list[Event]) -> list[dict[str, Any]]:
    """Per iteration: lines added/removed in scope, complexity of the touched functions before -> after."""
    record = Path(record_dir).resolve()  # git apply runs in a temp dir: patch paths must be absolute
    scope = _scope(events)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="campaign-codecost-") as tmp:
        work = Path(tmp) / "tree"
        no_snapshot = _unpack(record, work)
        for n in iterations(events):
            own = iteration_events(events, n)
            patch = _resolve_patch(record, n, last_of(own, "implement"))
            if patch is not None:
                rows.append(_iteration_cost(record, work, n, patch, is_kept(own), scope, no_snapshot))
    return rows


def _iteration_cost(record: Path, work: Path, n: int, patch: Path, kept: bool, scope: list[str],
                    no_snapshot: str | None) -> dict[str, Any]:
    """One iteration's row: its patch applied to ``work`` and measured (a reverted one is undone after)."""
    text = patch.read_text(encoding="utf-8", errors="replace")
    stats = patch_stats(text, scope)
    all_diffs = parse_patch(text)
    diffs = [d for d in all_diffs if in_scope(d.path, scope)]
    before = {d.path: _read(work, d.old_path) for d in diffs}
    saved = {p: _read(work, p) for d in all_diffs for p in (d.old_path, d.new_path) if p}
    error = _git_apply(work, patch) if no_snapshot is None else no_snapshot
    funcs: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    if error is None:
        for d in diffs:
            after = _read(work, d.new_path)
            files.append(file_cost(d.path, before[d.path], after))
            funcs += [{"file": d.path, **t} for t in touched_functions(before[d.path], after, d) or []]
        if not kept:
            _restore(work, saved)
    return {"iteration": n, "kept": kept, "patch": str(patch.relative_to(record)), **stats,
            **_totals(files, funcs, error)}


def _totals(files: list[dict[str, Any]], funcs: list[dict[str, Any]], error: str | None) -> dict[str, Any]:
    """The row's functions and files, and their summed complexity and NLOC (None: nothing measured)."""
    measured = [f for f in files if f["measured"]]
    counted = error is None and bool(measured)
    return {
        "functions": funcs,
        "file_cost": files,
        "complexity_before": sum(f["before"] or 0 for f in funcs) if counted else None,
        "complexity_after": sum(f["after"] or 0 for f in funcs) if counted else None,
        "nloc_before": sum(f["nloc_before"] or 0 for f in measured) if counted else None,
        "nloc_after": sum(f["nloc_after"] or 0 for f in measured) if counted else None,
        "not_measured": [f["file"] for f in files if not f["measured"]],
        "error": error,
    }


def _read(root: Path, rel: str | None) -> str | None:
    if rel is None:
        return None
    path = root / rel
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None


def _restore(root: Path, saved: dict[str, str | None]) -> None:
    for rel, text in saved.items():
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
