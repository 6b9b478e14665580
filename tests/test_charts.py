"""The server-drawn SVG bar charts (playground/charts.py), as the batch summary and the
template's win table use them."""

from __future__ import annotations

import re

from playground.batches.summary import METRICS, TargetSummary, chart
from playground.charts import LONGEST, bar_chart


def _lengths(svg: str) -> list[int]:
    return [int(width) for width in re.findall(r'<rect [^>]*width="(\d+)"', svg)]


def test_bars_are_scaled_to_the_largest_value_and_labels_escaped() -> None:
    svg = bar_chart(
        "Rates <b>", [("a <i>", 50.0, "50"), ("b", 100.0, "100"), ("c", None, "—")], "%"
    )
    assert _lengths(svg) == [LONGEST // 2, LONGEST, 0]
    assert "<i>" not in svg and "a &lt;i&gt;" in svg and 'aria-label="Rates &lt;b&gt;"' in svg
    assert "<script" not in svg and "style=" not in svg


def test_the_width_leaves_room_for_the_text() -> None:
    svg = bar_chart(
        "t", [("x", 1.0, "1 % a-long-model-name")], "", css="chart wins-chart", width=340
    )
    assert 'viewBox="0 0 340 22"' in svg and 'class="chart wins-chart"' in svg


def test_the_batch_summary_charts_each_metric() -> None:
    fast, slow = TargetSummary("fast", done=2), TargetSummary("slow", done=1, failed=1)
    fast.ttfts, slow.ttfts = [100, 300], [400]
    rate = chart(METRICS[0], [fast, slow])
    assert _lengths(rate) == [LONGEST, LONGEST // 2]
    assert "100.0 %" in rate and "50.0 %" in rate
    ttft = chart(METRICS[1], [fast, slow])
    assert _lengths(ttft) == [round(LONGEST * 200 / 400), LONGEST]
    cost = chart(METRICS[4], [fast, slow])
    assert _lengths(cost) == [0, 0] and "—" in cost
