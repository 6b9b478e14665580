"""A small bar chart of a team's daily token use, drawn on the server as SVG (no JavaScript).

`daily_chart` returns the geometry; templates/keys/team_usage.html draws it. Bars are stacked
by member, each member in one of a few colours the stylesheet defines (`chart-s0` … `chart-s5`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .usage import TeamUseQuerySet

DAYS = 30
WIDTH, HEIGHT = 600, 150
LEFT, BOTTOM, TOP = 44, 18, 8
SERIES = 6  # colours; members past the sixth share the last one


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    legend: list[tuple[int, str]]
    peak: int
    first: date
    last: date
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    base: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.bars


def daily_chart(uses: TeamUseQuerySet, days: int = DAYS) -> Chart:
    """Return the chart of these uses' tokens per day and member over the last `days` days."""
    last = timezone.localdate()
    first = last - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        uses.filter(created_at__gte=since, settled_at__isnull=False)
        .annotate(day=TruncDate("created_at"))
        .values("day", "username")
        .annotate(tokens=Sum("tokens"))
        .order_by("day", "username")
    )
    members = sorted({row["username"] for row in rows})
    series = {name: min(index, SERIES - 1) for index, name in enumerate(members)}
    totals: dict[date, int] = {}
    for row in rows:
        totals[row["day"]] = totals.get(row["day"], 0) + (row["tokens"] or 0)
    peak = max(totals.values(), default=0)
    bars: list[Bar] = []
    if peak:
        slot = (WIDTH - LEFT) / days
        scale = (HEIGHT - BOTTOM - TOP) / peak
        stacked: dict[date, float] = {}
        for row in rows:
            tokens = row["tokens"] or 0
            if not tokens:
                continue
            day = row["day"]
            height = max(tokens * scale, 1.0)
            below = stacked.get(day, 0.0)
            stacked[day] = below + height
            bars.append(
                Bar(
                    x=round(LEFT + (day - first).days * slot + 1, 1),
                    y=round(HEIGHT - BOTTOM - below - height, 1),
                    width=round(slot - 2, 1),
                    height=round(height, 1),
                    series=series[row["username"]],
                    title=f"{day:%d %b}: {row['username']}, {tokens:,} tokens",
                )
            )
    legend = [(series[name], name) for name in members]
    return Chart(bars=bars, legend=legend, peak=peak, first=first, last=last)
