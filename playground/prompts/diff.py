"""Differences between two revisions, line by line with changed words marked, in pure Python.

Prefixes are whitespace-sensitive, so lines keep their newline and whitespace is its own token:
a trailing space or a final newline shows up as a change, never as "no difference".

The cost is bounded (matching.py): one page's diff draws on one allowance for matching lines
and one for matching words, and shows at most MAX_ROWS changed rows. What the allowance cannot
afford is shown whole (a changed line without its words marked, or every line between the
common start and end as changed), and the field says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from playground.providers.prompt import Prompt, tool_to_json
from playground.providers.tools import ToolChoice

from .matching import OverBudget, Work, opcodes, replaced, trimmed_opcodes
from .tool_defs import choice_to_text

LINE_RE = re.compile(r"[^\n]*\n|[^\n]+")
TOKEN_RE = re.compile(r"\s|\w+|[^\w\s]")
CONTEXT = 2
# Most changed rows one diff page shows; the rest are counted, not drawn.
MAX_ROWS = 3_000
COARSE_NOTE = "Too long or too different to compare in detail: some changes are shown whole."


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool = False


@dataclass(frozen=True)
class Line:
    """One diff row: kind is "equal", "delete", "insert", "skip" (unchanged lines folded) or
    "omitted" (changed lines past MAX_ROWS, counted in `skipped`)."""

    kind: str
    segments: tuple[Segment, ...] = ()
    skipped: int = 0


@dataclass(frozen=True)
class FieldDiff:
    label: str
    lines: tuple[Line, ...]
    note: str = ""
    # "added" or "removed" when only one revision has the field (a tool, a turn), else "".
    change: str = ""


@dataclass
class Allowance:
    """What one diff page may spend: matcher steps for lines and for words, and rows."""

    lines: Work = field(default_factory=Work)
    words: Work = field(default_factory=Work)
    rows: int = MAX_ROWS
    coarse: bool = False


def _lines(text: str) -> list[str]:
    return LINE_RE.findall(text)


def _intraline(old: str, new: str, allowance: Allowance) -> tuple[Line, Line]:
    a, b = TOKEN_RE.findall(old), TOKEN_RE.findall(new)
    try:
        ops = opcodes(a, b, allowance.words)
    except OverBudget:
        ops, allowance.coarse = replaced(a, b), True
    old_segments: list[Segment] = []
    new_segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in ops:
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


def _line_opcodes(a: list[str], b: list[str], allowance: Allowance) -> list[Any]:
    for attempt in (opcodes, trimmed_opcodes):
        try:
            return attempt(a, b, allowance.lines)
        except OverBudget:
            pass
    allowance.coarse = True
    return replaced(a, b)


def _changed_rows(deleted: list[str], inserted: list[str], allowance: Allowance) -> list[Line]:
    """Return the rows of one changed block, words marked in paired lines, within MAX_ROWS."""
    shown_deleted = deleted[: max(allowance.rows, 0)]
    shown_inserted = inserted[: max(allowance.rows - len(shown_deleted), 0)]
    allowance.rows -= len(shown_deleted) + len(shown_inserted)
    pairs = min(len(shown_deleted), len(shown_inserted))
    marked = [_intraline(shown_deleted[k], shown_inserted[k], allowance) for k in range(pairs)]
    rows = [old_line for old_line, _ in marked]
    rows += [Line("delete", (Segment(line, True),)) for line in shown_deleted[pairs:]]
    rows += [new_line for _, new_line in marked]
    rows += [Line("insert", (Segment(line, True),)) for line in shown_inserted[pairs:]]
    left_out = len(deleted) + len(inserted) - len(shown_deleted) - len(shown_inserted)
    if left_out:
        rows.append(Line("omitted", skipped=left_out))
    return rows


def diff_text(old: str, new: str, allowance: Allowance | None = None) -> list[Line]:
    """Return the rows showing how `old` became `new`; unchanged runs are folded."""
    allowance = allowance or Allowance()
    a, b = _lines(old), _lines(new)
    ops = _line_opcodes(a, b, allowance)
    rows: list[Line] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            rows += _equal(a[i1:i2], index == 0, index == len(ops) - 1)
        else:
            rows += _changed_rows(a[i1:i2], b[j1:j2], allowance)
    return rows


def _quoted(values: Iterable[str]) -> str:
    return "".join(json.dumps(value, ensure_ascii=False) + "\n" for value in values)


def flatten(content: dict[str, Any]) -> list[tuple[str, str]]:
    """Return a template's contents (schema form) as labelled texts, in display order."""
    if not content:
        return []
    prompt = Prompt.from_json(content)
    fields = [
        ("Name", content["name"]),
        ("Description", content["description"]),
        ("Category", content["category"]),
        ("Tags", ", ".join(content["tags"])),
        ("System prompt", prompt.system),
    ]
    for number, turn in enumerate(prompt.turns, start=1):
        fields.append((f"Turn {number} ({turn.role})", turn.content))
        if turn.images:
            fields.append((f"Turn {number} images", "".join(u + "\n" for u in turn.images)))
    params = prompt.parameters.to_json()
    fields += [
        ("Assistant prefix", prompt.prefix),
        ("Reasoning prefix", prompt.reasoning_prefix),
        ("Speaker name", prompt.speaker_name),
        ("FIM suffix", prompt.suffix),
        ("Stop sequences", _quoted(prompt.stop)),
        ("Parameters", "".join(f"{k}: {'—' if v is None else v}\n" for k, v in params.items())),
        (
            "Variables",
            "".join(
                f"{v.name} = {json.dumps(v.default, ensure_ascii=False)}"
                + (f" — {v.description}" if v.description else "")
                + "\n"
                for v in prompt.variables
            ),
        ),
    ]
    if prompt.tools or prompt.tool_choice != ToolChoice():
        fields.append(("Tool choice", choice_to_text(prompt.tool_choice)))
    # One field per tool, labelled by its name: a tool only one revision has shows as added or
    # removed, one whose definition changed shows its changed lines.
    for tool in prompt.tools:
        definition = json.dumps(tool_to_json(tool), indent=2, ensure_ascii=False)
        fields.append((f"Tool {tool.name}", definition + "\n"))
    return fields


def diff_contents(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """Return a FieldDiff for every field that differs between two revisions' contents."""
    before, after = dict(flatten(old)), dict(flatten(new))
    labels = list(after) + [label for label in before if label not in after]
    allowance = Allowance()
    fields = []
    for label in labels:
        if before.get(label, "") == after.get(label, ""):
            continue
        allowance.coarse = False
        lines = tuple(diff_text(before.get(label, ""), after.get(label, ""), allowance))
        change = ""
        if before and after:  # a first revision's fields are all new, and not marked so
            change = "added" if label not in before else "removed" if label not in after else ""
        fields.append(FieldDiff(label, lines, COARSE_NOTE if allowance.coarse else "", change))
    return fields
