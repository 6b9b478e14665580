"""Differences between two revisions, line by line with changed words marked, in pure Python.

Prefixes are whitespace-sensitive, so lines keep their newline and whitespace is its own token:
a trailing space or a final newline shows up as a change, never as "no difference".
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

LINE_RE = re.compile(r"[^\n]*\n|[^\n]+")
TOKEN_RE = re.compile(r"\s|\w+|[^\w\s]")
CONTEXT = 2


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool = False


@dataclass(frozen=True)
class Line:
    """One diff row: kind is "equal", "delete", "insert" or "skip" (unchanged lines folded)."""

    kind: str
    segments: tuple[Segment, ...] = ()
    skipped: int = 0


@dataclass(frozen=True)
class FieldDiff:
    label: str
    lines: tuple[Line, ...]


def _lines(text: str) -> list[str]:
    return LINE_RE.findall(text)


def _intraline(old: str, new: str) -> tuple[Line, Line]:
    a, b = TOKEN_RE.findall(old), TOKEN_RE.findall(new)
    old_segments: list[Segment] = []
    new_segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        changed = tag != "equal"
        if i2 > i1:
            old_segments.append(Segment("".join(a[i1:i2]), changed))
        if j2 > j1:
            new_segments.append(Segment("".join(b[j1:j2]), changed))
    return Line("delete", tuple(old_segments)), Line("insert", tuple(new_segments))


def _equal(lines: list[str], first: bool, last: bool) -> list[Line]:
    keep_head = 0 if first else CONTEXT
    keep_tail = 0 if last else CONTEXT
    if len(lines) <= keep_head + keep_tail + 1:
        return [Line("equal", (Segment(line),)) for line in lines]
    head = [Line("equal", (Segment(line),)) for line in lines[:keep_head]]
    tail = [Line("equal", (Segment(line),)) for line in lines[len(lines) - keep_tail :]]
    return [*head, Line("skip", skipped=len(lines) - keep_head - keep_tail), *tail]


def diff_text(old: str, new: str) -> list[Line]:
    """Return the rows showing how `old` became `new`; unchanged runs are folded."""
    a, b = _lines(old), _lines(new)
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    rows: list[Line] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            rows += _equal(a[i1:i2], index == 0, index == len(opcodes) - 1)
            continue
        deleted, inserted = a[i1:i2], b[j1:j2]
        pairs = min(len(deleted), len(inserted)) if tag == "replace" else 0
        marked = [_intraline(deleted[k], inserted[k]) for k in range(pairs)]
        rows += [old_line for old_line, _ in marked]
        rows += [Line("delete", (Segment(line, True),)) for line in deleted[pairs:]]
        rows += [new_line for _, new_line in marked]
        rows += [Line("insert", (Segment(line, True),)) for line in inserted[pairs:]]
    return rows


def _quoted(values: list[str]) -> str:
    return "".join(json.dumps(value, ensure_ascii=False) + "\n" for value in values)


def flatten(content: dict[str, Any]) -> list[tuple[str, str]]:
    """Return a template's contents (schema form) as labelled texts, in display order."""
    if not content:
        return []
    fields = [
        ("Name", content["name"]),
        ("Description", content["description"]),
        ("Category", content["category"]),
        ("Tags", ", ".join(content["tags"])),
        ("System prompt", content["system"]),
    ]
    for number, turn in enumerate(content["turns"], start=1):
        fields.append((f"Turn {number} ({turn['role']})", turn["content"]))
        if turn["images"]:
            fields.append((f"Turn {number} images", "".join(u + "\n" for u in turn["images"])))
    params = content["parameters"]
    fields += [
        ("Assistant prefix", content["prefix"]),
        ("Reasoning prefix", content["reasoning_prefix"]),
        ("Speaker name", content.get("speaker_name", "")),
        ("FIM suffix", content["suffix"]),
        ("Stop sequences", _quoted(content["stop"])),
        ("Parameters", "".join(f"{k}: {'—' if v is None else v}\n" for k, v in params.items())),
        (
            "Variables",
            "".join(
                f"{v['name']} = {json.dumps(v['default'], ensure_ascii=False)}"
                + (f" — {v['description']}" if v["description"] else "")
                + "\n"
                for v in content["variables"]
            ),
        ),
    ]
    return fields


def diff_contents(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """Return a FieldDiff for every field that differs between two revisions' contents."""
    before, after = dict(flatten(old)), dict(flatten(new))
    labels = list(after) + [label for label in before if label not in after]
    return [
        FieldDiff(label, tuple(diff_text(before.get(label, ""), after.get(label, ""))))
        for label in labels
        if before.get(label, "") != after.get(label, "")
    ]
