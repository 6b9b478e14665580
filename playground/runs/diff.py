"""A word-level diff of two columns' texts, whitespace kept as its own token (pure Python).

The cost is bounded (playground/prompts/matching.py): the whole texts are matched word by word
when that is affordable, else what lies between their common start and end, else line by line
with words matched only inside the changed lines while the allowance lasts. Whatever could not
be matched in detail is shown whole and the diff says it is coarse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playground.prompts.matching import (
    Opcode,
    OverBudget,
    Work,
    opcodes,
    replaced,
    trimmed_opcodes,
)

# Words, single whitespace characters and single punctuation marks: a changed space or newline
# shows as a change of its own, never folded into a neighbouring word.
TOKEN_RE = re.compile(r"\w+|\s|[^\w\s]")
# Longest text compared, per side; beyond it the diff covers the start and says so.
MAX_CHARS = 400_000
# Most pieces shown; past it the rest of both texts is shown whole, as one change.
MAX_PIECES = 5_000


@dataclass(frozen=True)
class Piece:
    """A run of text: "equal", "delete" (only in the left text) or "insert" (only in the right)."""

    kind: str
    text: str


@dataclass
class WordDiff:
    """The pieces, how alike the texts are (0-1, by tokens), and whether detail was dropped."""

    pieces: list[Piece]
    similarity: float
    coarse: bool = False
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _lines(tokens: list[str]) -> list[tuple[int, int]]:
    """Return the token ranges of each line (a line ends after a newline token)."""
    ranges, start = [], 0
    for index, token in enumerate(tokens):
        if token == "\n":
            ranges.append((start, index + 1))
            start = index + 1
    if start < len(tokens):
        ranges.append((start, len(tokens)))
    return ranges


def _line_level(a: list[str], b: list[str]) -> tuple[list[Opcode], bool]:
    """Return token opcodes found line by line, words matched inside changed lines; and coarse."""
    lines_a, lines_b = _lines(a), _lines(b)
    text_a = ["".join(a[i:j]) for i, j in lines_a]
    text_b = ["".join(b[i:j]) for i, j in lines_b]
    coarse = False
    try:
        line_ops = trimmed_opcodes(text_a, text_b, Work())
    except OverBudget:
        line_ops, coarse = replaced(text_a, text_b), True
    inner = Work()
    ops: list[Opcode] = []
    for tag, i1, i2, j1, j2 in line_ops:
        ta1 = lines_a[i1][0] if i1 < len(lines_a) else len(a)
        ta2 = lines_a[i2 - 1][1] if i2 > i1 else ta1
        tb1 = lines_b[j1][0] if j1 < len(lines_b) else len(b)
        tb2 = lines_b[j2 - 1][1] if j2 > j1 else tb1
        if tag == "equal":
            ops.append(("equal", ta1, ta2, tb1, tb2))
            continue
        try:
            sub = opcodes(a[ta1:ta2], b[tb1:tb2], inner)
        except OverBudget:
            sub, coarse = replaced(a[ta1:ta2], b[tb1:tb2]), True
        ops += [(t, x1 + ta1, x2 + ta1, y1 + tb1, y2 + tb1) for t, x1, x2, y1, y2 in sub]
    return ops, coarse


def _matched(a: list[str], b: list[str]) -> tuple[list[Opcode], bool]:
    """Return the opcodes of the best diff the allowance affords, and whether it is coarse."""
    for attempt in (opcodes, trimmed_opcodes):
        try:
            return attempt(a, b, Work()), False
        except OverBudget:
            pass
    return _line_level(a, b)


def compare(left: str, right: str) -> WordDiff:
    """Return the word diff of `left` and `right`, its cost bounded whatever they hold."""
    notes = []
    truncated = len(left) > MAX_CHARS or len(right) > MAX_CHARS
    if truncated:
        left, right = left[:MAX_CHARS], right[:MAX_CHARS]
        notes.append(f"Only the first {MAX_CHARS:,} characters of each text are compared.")
    a, b = TOKEN_RE.findall(left), TOKEN_RE.findall(right)
    ops, coarse = _matched(a, b)
    matched = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
    similarity = 1.0 if not a and not b else 2 * matched / (len(a) + len(b))
    pieces: list[Piece] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(ops):
        if len(pieces) >= MAX_PIECES:
            # The rest of both texts, shown whole: rendering is bounded too.
            rest = ops[index:]
            pieces.append(Piece("delete", "".join(a[rest[0][1] :])))
            pieces.append(Piece("insert", "".join(b[rest[0][3] :])))
            coarse = True
            break
        if tag == "equal":
            pieces.append(Piece("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("delete", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("insert", "".join(b[j1:j2])))
    if coarse:
        notes.append(
            "These texts are too long or too different to compare word by word everywhere: "
            "some changed passages are shown whole."
        )
    return WordDiff(pieces, similarity, coarse, truncated, notes)


def word_diff(left: str, right: str) -> list[Piece]:
    """Return the pieces that turn `left` into `right`, in reading order."""
    return compare(left, right).pieces


def similarity(left: str, right: str) -> float:
    """Return how alike two texts are, from 0 (nothing shared) to 1 (identical), by tokens."""
    return compare(left, right).similarity
