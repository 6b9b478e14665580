"""The verdict form of a run page: what a viewer typed, read into a ranking, and what the page
shows of a verdict (docs/verdicts.md). The rules a verdict must meet live on the model
(`Verdict.objects.record`, `ranking_problem`); this module only reads the form.

Each column has a rank select named `rank-<position>` ("" for not ranked, "1" for the best);
the ranks given must run 1st, 2nd, ... without gaps or repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from .models import Run, RunColumn
from .verdicts import MAX_NOTE_CHARS, Verdict, VerdictRefused

RANK_PREFIX = "rank-"
PLACES = ["1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th"]


def place(rank: int) -> str:
    """Return rank 1, 2, 3... as "1st", "2nd", "3rd"..."""
    return PLACES[rank - 1] if 0 < rank <= len(PLACES) else f"{rank}th"


@dataclass
class Typed:
    """What the viewer typed: a rank per column position ("" for none) and the note."""

    ranks: dict[int, str] = field(default_factory=dict)
    note: str = ""

    @classmethod
    def of(cls, verdict: Verdict | None) -> Typed:
        """Return the form's values for a saved verdict (empty without one)."""
        if verdict is None:
            return cls()
        ranks = {int(position): str(rank) for rank, position in enumerate(verdict.ranking, 1)}
        return cls(ranks, verdict.note)

    @classmethod
    def read(cls, data: QueryDict, positions: list[int]) -> Typed:
        """Return the values posted for `positions` (other fields are ignored)."""
        ranks = {p: data.get(f"{RANK_PREFIX}{p}", "").strip()[:4] for p in positions}
        return cls(ranks, data.get("note", ""))

    def ranking(self) -> list[int]:
        """Return the positions ranked best first, or raise VerdictRefused saying what is off."""
        by_rank: dict[int, int] = {}
        count = len(self.ranks)
        for position, value in self.ranks.items():
            if not value:
                continue
            if not value.isdigit() or not 1 <= int(value) <= count:
                raise VerdictRefused(f"A rank is a place from 1st to {place(count)}.")
            rank = int(value)
            if rank in by_rank:
                raise VerdictRefused(
                    f"Two columns are ranked {place(rank)}: give each place to one column."
                )
            by_rank[rank] = position
        if not by_rank:
            raise VerdictRefused("Pick the best column: rank one column 1st.")
        expected = list(range(1, len(by_rank) + 1))
        if sorted(by_rank) != expected:
            missing = next(rank for rank in expected if rank not in by_rank)
            raise VerdictRefused(
                f"Ranks follow on from 1st without gaps: no column is ranked {place(missing)}."
            )
        return [by_rank[rank] for rank in expected]


def label(run: Run, column: RunColumn, blinded: bool) -> str:
    """Return how the verdict names a column: its letter while blind, else its target."""
    target = f"{column.provider_name} · {column.model}"
    if not run.blind:
        return target
    letter = run.letter_of(column.position)
    return f"Column {letter}" if blinded else f"Column {letter}: {target}"


def context(
    run: Run,
    columns: list[RunColumn],
    verdict: Verdict | None,
    blinded: bool,
    typed: Typed | None = None,
    problem: str = "",
) -> dict[str, Any]:
    """Return what templates/runs/_verdict.html needs: the form's rows and the saved verdict."""
    typed = typed or Typed.of(verdict)
    by_position = {column.position: column for column in columns}
    rows = [
        {
            "column": column,
            "label": label(run, column, blinded),
            "rank": typed.ranks.get(column.position, ""),
        }
        for column in columns
    ]
    ranked = []
    if verdict is not None:
        for rank, position in enumerate(verdict.ranking, 1):
            column = by_position.get(int(position))
            if column is not None:
                ranked.append({"place": place(rank), "label": label(run, column, blinded)})
    return {
        "verdict": verdict,
        "verdict_rows": rows,
        "verdict_places": [(str(rank), place(rank)) for rank in range(1, len(columns) + 1)],
        "verdict_ranked": ranked,
        "verdict_note": typed.note,
        "verdict_problem": problem,
        "max_note_chars": MAX_NOTE_CHARS,
    }
