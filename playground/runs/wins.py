"""What a team has learned about a template: which targets its verdicts pick best, how often.

`win_table` counts, across the runs of one template that the viewer may open
(`Run.objects.visible_to`) and that carry verdicts, one judgement per verdict: every target
(provider + model) in the judged run appeared once, and the target of the column ranked first
won once. Blind runs the viewer has not judged yet are counted but never linked, so the table
cannot tell them which column was which (docs/verdicts.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from django.utils.safestring import SafeString

from playground.charts import bar_chart
from playground.providers.catalog import get_provider

from .models import Run, RunColumn, latest_revision_number
from .verdicts import Verdict

if TYPE_CHECKING:
    from playground.accounts.models import User
    from playground.prompts.models import PrefixTemplate

MAX_WIN_RUNS = 500  # the latest judged runs a table reads (docs/limits.md: every list bounded)
MAX_LINKS = 5  # runs linked per target


class Revisions:
    ALL = "all"
    CURRENT = "current"
    CHOICES = (ALL, CURRENT)


@dataclass(frozen=True)
class RunLink:
    code: UUID
    created_at: datetime


@dataclass
class TargetWins:
    provider: str
    model: str
    wins: int = 0
    judged: int = 0  # verdicts on runs this target appeared in
    runs: set[int] = field(default_factory=set)
    won_in: list[RunLink] = field(default_factory=list)  # linkable runs it won, newest first

    @property
    def label(self) -> str:
        try:
            name = get_provider(self.provider).name
        except KeyError:
            name = self.provider
        return f"{name} · {self.model}"

    @property
    def provider_name(self) -> str:
        return self.label.rsplit(" · ", 1)[0]

    @property
    def short_model(self) -> str:
        """Return the model's id cut to fit beside its bar in the chart."""
        return self.model if len(self.model) <= 24 else self.model[:23] + "…"

    @property
    def run_count(self) -> int:
        return len(self.runs)

    @property
    def win_rate(self) -> float:
        return round(100 * self.wins / self.judged, 1) if self.judged else 0.0


@dataclass
class WinTable:
    revision: str
    current_number: int | None
    rows: list[TargetWins]
    judged_runs: int
    verdicts: int
    to_judge: list[RunLink]  # the latest runs the viewer may open and has not judged
    unlinked: list[RunLink]  # blind runs awaiting the viewer's verdict: counted, not detailed
    capped: bool
    limit: int

    @property
    def chart(self) -> SafeString:
        bars = [
            (row.label, row.win_rate, f"{row.win_rate:.0f} % {row.short_model}")
            for row in self.rows
        ]
        return bar_chart("Win rate per target", bars, "", css="chart wins-chart", width=340)


def win_table(template: PrefixTemplate, viewer: User, revision: str = Revisions.ALL) -> WinTable:
    """Return the win table of `template` as `viewer` may see it (see the module docstring)."""
    current = latest_revision_number(template)
    runs_of = Run.objects.visible_to(viewer).filter(template=template)
    if revision == Revisions.CURRENT:
        runs_of = runs_of.filter(template_revision=current)
    runs = runs_of.filter(pk__in=Verdict.objects.values("run_id"))
    unjudged = runs_of.exclude(verdicts__user=viewer).order_by("-created_at", "-id")
    to_judge = [RunLink(*row) for row in unjudged.values_list("code", "created_at")[:MAX_LINKS]]
    limit = MAX_WIN_RUNS
    rows = list(
        runs.order_by("-created_at", "-id").values_list("pk", "code", "blind", "created_at")[
            : limit + 1
        ]
    )
    capped = len(rows) > limit
    rows = rows[:limit]
    ids = [pk for pk, *_ in rows]
    columns: dict[int, dict[int, tuple[str, str]]] = {}
    for run_id, position, provider, model in RunColumn.objects.filter(run_id__in=ids).values_list(
        "run_id", "position", "provider", "model"
    ):
        columns.setdefault(run_id, {})[position] = (provider, model)
    rankings: dict[int, list[object]] = {}
    seen_by_viewer: set[int] = set()
    verdicts = Verdict.objects.filter(run_id__in=ids).values_list("run_id", "user_id", "ranking")
    for run_id, user_id, ranking in verdicts:
        rankings.setdefault(run_id, []).append(ranking)
        if user_id == viewer.pk:
            seen_by_viewer.add(run_id)
    hidden = {pk for pk, _, blind, _ in rows if blind and pk not in seen_by_viewer}
    targets: dict[tuple[str, str], TargetWins] = {}
    counted, counted_runs = 0, set()
    for pk, code, _, created_at in rows:  # newest first: each target links its latest wins
        link = RunLink(code, created_at)
        run_columns = columns.get(pk, {})
        for ranking in rankings.get(pk, []):
            best = _best(ranking)
            if best is None or best not in run_columns:
                continue
            counted += 1
            counted_runs.add(pk)
            for target in set(run_columns.values()):
                row = targets.setdefault(target, TargetWins(*target))
                row.judged += 1
                row.runs.add(pk)
            winner = targets[run_columns[best]]
            winner.wins += 1
            if pk not in hidden and link not in winner.won_in and len(winner.won_in) < MAX_LINKS:
                winner.won_in.append(link)
    unlinked = [
        RunLink(code, created_at)
        for pk, code, _, created_at in rows
        if pk in hidden and pk in counted_runs
    ][:MAX_LINKS]
    ordered = sorted(targets.values(), key=lambda row: (-row.win_rate, -row.wins, row.label))
    return WinTable(
        revision=revision,
        current_number=current,
        rows=ordered,
        judged_runs=len(counted_runs),
        verdicts=counted,
        to_judge=[link for link in to_judge if link not in unlinked],
        unlinked=unlinked,
        capped=capped,
        limit=limit,
    )


def _best(ranking: object) -> int | None:
    """Return the position ranked first, or None for a ranking that names none."""
    if isinstance(ranking, list) and ranking and isinstance(ranking[0], int):
        return ranking[0]
    return None
