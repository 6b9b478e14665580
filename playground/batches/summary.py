"""Per-target summaries of a batch, and a small server-drawn SVG chart per metric."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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
BAR_HEIGHT, GAP, LABEL_WIDTH, WIDTH = 16, 6, 0, 240


def chart(metric: Metric, summaries: list[TargetSummary]) -> SafeString:
    """Return an SVG bar chart of `metric`, one bar per target (no script, no style attribute)."""
    values = [getattr(s, metric.key) for s in summaries]
    top = max((v for v in values if v is not None), default=0) or 1
    height = len(values) * (BAR_HEIGHT + GAP)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(metric.title)} per target">'
    ]
    for index, (summary, value) in enumerate(zip(summaries, values, strict=True)):
        y = index * (BAR_HEIGHT + GAP)
        width = 0 if value is None else max(2, round(140 * value / top))
        shown = (
            "—"
            if value is None
            else (
                f"{value:,.4f}"
                if metric.key == "total_cost"
                else f"{value:,.0f}"
                if isinstance(value, int)
                else f"{value:,.1f}"
            )
        )
        parts.append(
            f"<g><title>{escape(summary.label)}: {shown} {metric.unit}</title>"
            f'<rect class="chart-bar chart-bar-{index}" x="0" y="{y}" width="{width}" '
            f'height="{BAR_HEIGHT}" rx="3"></rect>'
            f'<text class="chart-value" x="{width + 6}" y="{y + BAR_HEIGHT - 4}">'
            f"{escape(shown)} {escape(metric.unit)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def charts(summaries: list[TargetSummary]) -> list[tuple[Metric, SafeString]]:
    return [(metric, chart(metric, summaries)) for metric in METRICS]
