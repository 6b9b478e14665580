"""Small horizontal bar charts drawn on the server as SVG: no script, no style attribute.

One bar per row, longest for the largest value; the batch summary draws one per metric and the
template's win table one of win rates. Bars carry `chart-bar chart-bar-N` classes for colour.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT, GAP, WIDTH, LONGEST = 16, 6, 240, 140


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float | None, str]],
    unit: str,
    *,
    css: str = "chart",
    width: int = WIDTH,
) -> SafeString:
    """Return an SVG chart of `bars`: (label, value or None, the value as shown) each.

    `width` leaves room right of the longest bar (LONGEST) for the value's text.
    """
    top = max((value for _, value, _ in bars if value is not None), default=0) or 1
    height = len(bars) * (BAR_HEIGHT + GAP)
    parts = [
        f'<svg class="{escape(css)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">'
    ]
    for index, (label, value, shown) in enumerate(bars):
        y = index * (BAR_HEIGHT + GAP)
        length = 0 if value is None else max(2, round(LONGEST * value / top))
        parts.append(
            f"<g><title>{escape(label)}: {escape(shown)} {escape(unit)}</title>"
            f'<rect class="chart-bar chart-bar-{index}" x="0" y="{y}" width="{length}" '
            f'height="{BAR_HEIGHT}" rx="3"></rect>'
            f'<text class="chart-value" x="{length + 6}" y="{y + BAR_HEIGHT - 4}">'
            f"{escape(shown)} {escape(unit)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
