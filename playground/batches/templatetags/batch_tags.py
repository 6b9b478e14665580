"""Template filters for the grid: a cell's preview, rendered text and check results."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from playground.batches.checks import from_dicts
from playground.prompts.templatetags.prompt_tags import visible_ws
from playground.runs.rendering import render_markdown

register = template.Library()

PREVIEW_CHARS = 600
RENDERED_CHARS = 3000

register.filter("visible_ws", visible_ws)


@register.filter
def cell_preview(text: str) -> str:
    """Return the start of a cell's text: the grid is a preview; Open run shows it all."""
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


@register.filter
def cell_rendered(text: str) -> SafeString:
    return render_markdown(text[:RENDERED_CHARS])


@register.filter
def check_results(cell: Any, batch: Any) -> list[tuple[str, bool]]:
    labels = [check.label for check in from_dicts(batch.checks)]
    return list(zip(labels, cell.checks or [], strict=False))
