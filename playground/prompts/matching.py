"""Sequence matching with a bounded cost, for the diffs (pure Python).

difflib's SequenceMatcher with autojunk off (needed: whitespace tokens are common and must be
matched) is quadratic on repetitive input; a 16,000-character prompt took 103 s. Here every
call draws on a `Work` allowance counted in the matcher's own inner-loop steps, known before
each step is taken, so a diff either finishes within its allowance or gives up early
(OverBudget) and the caller falls back to a coarser view. bench/diff_worst.py measures it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from difflib import Match, SequenceMatcher
from itertools import accumulate

Opcode = tuple[str, int, int, int, int]

# Inner-loop steps one stage of a diff may take: about 0.1-0.2 s of CPU (BENCHMARKS.md).
STEPS = 1_000_000


class OverBudget(Exception):
    """Matching would take more steps than the allowance has left."""


@dataclass
class Work:
    """An allowance of matcher steps, shared by the calls that draw on it."""

    steps: int = STEPS

    def spend(self, steps: int) -> None:
        """Take `steps` from the allowance; raise OverBudget (taking nothing) if short."""
        if steps > self.steps:
            raise OverBudget
        self.steps -= steps


class _CountingMatcher(SequenceMatcher[Hashable]):
    """SequenceMatcher that pays for each longest-match search before doing it.

    One search over a[alo:ahi] visits, for each element, the positions of that element in b
    (difflib's b2j), so its cost is at most the sum of those counts, read from prefix sums.
    """

    # Set by SequenceMatcher.set_seqs; typeshed leaves these attributes undeclared.
    a: Sequence[Hashable]
    b: Sequence[Hashable]
    b2j: dict[Hashable, list[int]]

    def __init__(self, a: Sequence[Hashable], b: Sequence[Hashable], work: Work) -> None:
        super().__init__(None, a, b, autojunk=False)
        self._work = work
        b2j = self.b2j
        self._cost = list(accumulate((len(b2j.get(x, ())) + 1 for x in a), initial=0))

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> Match:
        ahi = len(self.a) if ahi is None else ahi
        bhi = len(self.b) if bhi is None else bhi
        self._work.spend(self._cost[ahi] - self._cost[alo] + (bhi - blo))
        return super().find_longest_match(alo, ahi, blo, bhi)


def opcodes(a: Sequence[Hashable], b: Sequence[Hashable], work: Work) -> list[Opcode]:
    """Return difflib's opcodes turning `a` into `b`; raise OverBudget if `work` runs short."""
    work.spend(len(a) + len(b))  # counting, indexing b and the prefix sums
    # The first search alone costs the number of equal pairs: refuse before indexing anything.
    counts_a, counts_b = Counter(a), Counter(b)
    first = sum(count * counts_b[item] for item, count in counts_a.items()) + len(a) + len(b)
    if first > work.steps:
        raise OverBudget
    return list(_CountingMatcher(a, b, work).get_opcodes())


def common_ends(a: Sequence[Hashable], b: Sequence[Hashable]) -> tuple[int, int]:
    """Return how many leading and (then) trailing elements `a` and `b` share."""
    most = min(len(a), len(b))
    head = 0
    while head < most and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < most - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    return head, tail


def _joined(
    a: Sequence[Hashable], b: Sequence[Hashable], head: int, tail: int, middle: list[Opcode]
) -> list[Opcode]:
    ops: list[Opcode] = [("equal", 0, head, 0, head)] if head else []
    ops += [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in middle]
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


def trimmed_opcodes(a: Sequence[Hashable], b: Sequence[Hashable], work: Work) -> list[Opcode]:
    """Return opcodes that keep the common ends and match only what lies between them.

    Cheaper than `opcodes` when two long texts share a long start (the same prompt) and the
    same ending; raise OverBudget if even the middle is too costly.
    """
    head, tail = common_ends(a, b)
    middle = opcodes(a[head : len(a) - tail], b[head : len(b) - tail], work)
    return _joined(a, b, head, tail, middle)


def replaced(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode]:
    """Return opcodes that keep the common ends and replace everything between them (free)."""
    head, tail = common_ends(a, b)
    rest_a, rest_b = len(a) - head - tail, len(b) - head - tail
    if not rest_a and not rest_b:
        return _joined(a, b, head, tail, [])
    tag = "replace" if rest_a and rest_b else "delete" if rest_a else "insert"
    return _joined(a, b, head, tail, [(tag, 0, rest_a, 0, rest_b)])
