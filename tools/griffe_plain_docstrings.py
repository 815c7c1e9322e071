"""Render the package's plain-text docstrings faithfully in the API reference.

The docstrings are written to be read in a terminal (``help()``, an editor):
an rST-style ``::`` before an indented example, and aligned tables with a
hanging indent (the event types in ``campaign.loop.events``). Read as
Markdown, the ``::`` shows and a table collapses into one paragraph. This
griffe extension (loaded by mkdocstrings, see ``mkdocs.yml``) rewrites each
docstring before it is rendered: ``::`` becomes ``:``, and a paragraph with a
hanging indent becomes a code block, so it keeps its columns. The code's
docstrings stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _paragraphs(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _hanging(block: list[str]) -> bool:
    """A table-like paragraph: unindented first line, an indented line after it, not a list."""
    first = block[0]
    return (len(block) > 1 and _indent(first) == 0 and not _LIST_ITEM.match(first)
            and any(_indent(line) > 0 and not _LIST_ITEM.match(line) for line in block[1:]))


def to_markdown(text: str) -> str:
    """Rewrite one (dedented) plain-text docstring as Markdown that looks the same."""
    out: list[str] = []
    for block in _paragraphs(text):
        if block[-1].rstrip().endswith("::"):
            last = block[-1].rstrip()[:-2].rstrip()
            block = block[:-1] + ([last + ":"] if last else [])
            if not block:
                continue
        if _hanging(block):
            out.append("\n".join("    " + line for line in block))
        else:
            out.append("\n".join(block))
    return "\n\n".join(out)


class PlainDocstrings(griffe.Extension):
    """Apply ``to_markdown`` to every docstring griffe loads."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
