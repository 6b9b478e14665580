"""A word-level diff of two columns' texts, whitespace kept as its own token (pure Python)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# Words, single whitespace characters and single punctuation marks: a changed space or newline
# shows as a change of its own, never folded into a neighbouring word.
TOKEN_RE = re.compile(r"\w+|\s|[^\w\s]")


@dataclass(frozen=True)
class Piece:
    """A run of text: "equal", "delete" (only in the left text) or "insert" (only in the right)."""

    kind: str
    text: str


def word_diff(left: str, right: str) -> list[Piece]:
    """Return the pieces that turn `left` into `right`, in reading order."""
    a, b = TOKEN_RE.findall(left), TOKEN_RE.findall(right)
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("delete", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("insert", "".join(b[j1:j2])))
    return pieces


def similarity(left: str, right: str) -> float:
    """Return how alike two texts are, from 0 (nothing shared) to 1 (identical), by tokens."""
    a, b = TOKEN_RE.findall(left), TOKEN_RE.findall(right)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
