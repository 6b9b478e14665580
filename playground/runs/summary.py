"""What a run's columns came to, in words: the one mapping every status on the site reads.

A column's verdict comes from its last segment's status and the caveats its stream ended with;
a run's summary counts its columns' verdicts. The run bar, the end-of-run frame, the history
row and the column badges all render these, so they never disagree ("2 done · 1 failed").
What each status means (its word, its colour) is status.py's; this module only counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .status import STATE_ORDER, SegmentStatus


@dataclass(frozen=True)
class ColumnVerdict:
    """One column's outcome: its segment status and the caveats its stream finished with."""

    status: str
    caveats: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        return SegmentStatus(self.status).state

    @property
    def is_live(self) -> bool:
        """Return whether the column is still waiting or streaming."""
        return not SegmentStatus(self.status).is_final

    @property
    def badge(self) -> str:
        """Return the column's badge text ("Done", "Failed", "Not sent", ...)."""
        return self.state.capitalize()

    @property
    def label(self) -> str:
        """Return the state with its caveats: "done — 1 unreadable chunk skipped"."""
        return " — ".join((self.state, *self.caveats))

    @property
    def tone(self) -> str:
        """Return the badge colour: ok, warn, danger, accent or "" (neutral)."""
        if self.state == "done" and self.caveats:
            return "warn"
        return SegmentStatus(self.status).tone


@dataclass(frozen=True)
class RunSummary:
    """A run's columns counted by state, with the caveats of its finished columns."""

    verdicts: tuple[ColumnVerdict, ...]

    def count(self, state: str) -> int:
        return sum(1 for verdict in self.verdicts if verdict.state == state)

    @property
    def caveats(self) -> tuple[str, ...]:
        """Return each distinct caveat of the finished columns, in column order."""
        seen: dict[str, None] = {}
        for verdict in self.verdicts:
            if verdict.state == "done":
                seen.update(dict.fromkeys(verdict.caveats))
        return tuple(seen)

    @property
    def label(self) -> str:
        """Return e.g. "3 done · 2 failed" or "1 done — stream ended without its end marker"."""
        counts = " · ".join(
            f"{self.count(state)} {state}" for state in STATE_ORDER if self.count(state)
        )
        return " — ".join((counts or "no columns", *self.caveats))

    @property
    def tone(self) -> str:
        """Return the badge colour of the whole run."""
        states = {verdict.state for verdict in self.verdicts}
        if "streaming" in states:
            return "accent"
        if states == {"done"}:
            return "warn" if self.caveats else "ok"
        if "done" not in states and states & {"failed", "not sent", "interrupted"}:
            return "danger"
        if states & {"failed", "not sent", "interrupted"}:
            return "warn"
        return ""


@dataclass(frozen=True)
class Spend:
    """Tokens and cost of a run, summed over its segments; cost per currency."""

    input_tokens: int = 0
    output_tokens: int = 0
    costs: tuple[tuple[str, Decimal], ...] = ()

    @property
    def cost_label(self) -> str:
        """Return e.g. "$0.000412" or "$0.0004 + ¥0.0120"; "–" when no price was known."""
        if not self.costs:
            return "–"
        symbols = {"CNY": "¥", "USD": "$", "": "$"}
        return " + ".join(
            f"{symbols.get(currency, currency + ' ')}{amount:.6f}"
            for currency, amount in self.costs
        )


def add_spend(
    segments: list[tuple[int | None, int | None, Decimal | None, str]],
) -> Spend:
    """Return the spend of (input tokens, output tokens, cost, currency) per segment."""
    costs: dict[str, Decimal] = {}
    for _, _, cost, currency in segments:
        if cost is not None:
            costs[currency] = costs.get(currency, Decimal(0)) + cost
    return Spend(
        input_tokens=sum(tokens or 0 for tokens, _, _, _ in segments),
        output_tokens=sum(tokens or 0 for _, tokens, _, _ in segments),
        costs=tuple(sorted(costs.items())),
    )
