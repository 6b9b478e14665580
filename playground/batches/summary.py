"""Per-target summaries of a batch, and a small server-drawn SVG chart per metric."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString

from playground.charts import bar_chart

from .models import RERUNNABLE, Cell, CellStatus


@dataclass
class TargetSummary:
    label: str
    cells: int = 0
    done: int = 0
    failed: int = 0
    left: int = 0
    ttfts: list[int] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)
    stopped_on_sequence: int = 0
    stopped_on_length: int = 0
    checked: int = 0
    checks_passed: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def success_rate(self) -> float | None:
        return round(100 * self.done / self.finished, 1) if self.finished else None

    @property
    def median_ttft(self) -> float | None:
        return statistics.median(self.ttfts) if self.ttfts else None

    @property
    def median_speed(self) -> float | None:
        return round(statistics.median(self.speeds), 1) if self.speeds else None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost_text(self) -> str:
        return (
            " + ".join(
                f"{amount:.4f} {currency or ''}".strip()
                for currency, amount in sorted(self.cost.items())
            )
            or "—"
        )

    @property
    def total_cost(self) -> float | None:
        return float(sum(self.cost.values())) if self.cost else None


def summarize(targets: Iterable[Any], cells: Iterable[Cell]) -> list[TargetSummary]:
    """Return one summary per target, in target order."""
    summaries = {t.pk: TargetSummary(str(t)) for t in targets}
    for cell in cells:
        s = summaries[cell.target_id]
        s.cells += 1
        if cell.status == CellStatus.DONE:
            s.done += 1
        elif cell.status in RERUNNABLE:
            s.failed += 1
        else:
            s.left += 1
        if cell.status != CellStatus.DONE:
            continue
        if cell.ttft_ms is not None:
            s.ttfts.append(cell.ttft_ms)
        speed = cell.tokens_per_second
        if speed is not None:
            s.speeds.append(speed)
        s.input_tokens += cell.input_tokens or 0
        s.output_tokens += cell.output_tokens or 0
        if cell.cost is not None:
            s.cost[cell.currency] = s.cost.get(cell.currency, Decimal(0)) + cell.cost
        if cell.finish_reason == "length":
            s.stopped_on_length += 1
        elif cell.stop_sequence:
            s.stopped_on_sequence += 1
        if cell.checks:
            s.checked += 1
            s.checks_passed += all(cell.checks)
    return list(summaries.values())


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    unit: str


METRICS = (
    Metric("success_rate", "Success rate", "%"),
    Metric("median_ttft", "Median first token", "ms"),
    Metric("median_speed", "Median tokens/s", "tok/s"),
    Metric("total_tokens", "Total tokens", ""),
    Metric("total_cost", "Total cost", ""),
)


def _shown(metric: Metric, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.key == "total_cost":
        return f"{value:,.4f}"
    return f"{value:,.0f}" if isinstance(value, int) else f"{value:,.1f}"


def chart(metric: Metric, summaries: list[TargetSummary]) -> SafeString:
    """Return an SVG bar chart of `metric`, one bar per target (playground/charts.py)."""
    values = [(s.label, getattr(s, metric.key)) for s in summaries]
    bars = [(label, value, _shown(metric, value)) for label, value in values]
    return bar_chart(f"{metric.title} per target", bars, metric.unit)


def charts(summaries: list[TargetSummary]) -> list[tuple[Metric, SafeString]]:
    return [(metric, chart(metric, summaries)) for metric in METRICS]
