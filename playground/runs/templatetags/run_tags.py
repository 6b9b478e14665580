"""Template helpers for run pages."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django import forms, template
from django.utils.html import escape
from django.utils.safestring import SafeString

from playground.prompts.templatetags.prompt_tags import visible_ws
from playground.prompts.tool_defs import choice_to_text
from playground.runs.fragments import metrics_html
from playground.runs.models import UPLOAD_SCHEME, Run, Segment
from playground.runs.tool_calls import CallView, call_views

register = template.Library()


@register.filter
def upload_code(url: str) -> str:
    """Return the upload code of an `upload:<uuid>` image reference, or "" for anything else."""
    if not isinstance(url, str) or not url.startswith(UPLOAD_SCHEME):
        return ""
    try:
        return str(uuid.UUID(url.removeprefix(UPLOAD_SCHEME)))
    except ValueError:
        return ""


@register.filter
def segment_metrics(segment: Segment | None, blinded: bool = False) -> SafeString | str:
    """Return the final metrics bar of a saved segment (without its cost while `blinded`:
    a price names its model; docs/verdicts.md)."""
    if segment is None:
        return ""
    return metrics_html(
        ttft_ms=segment.ttft_ms,
        elapsed_ms=segment.elapsed_ms,
        input_tokens=segment.input_tokens,
        output_tokens=segment.output_tokens,
        tokens_per_second=segment.tokens_per_second,
        finish_reason=segment.finish_reason,
        cost=None if blinded else segment.cost,
        currency="" if blinded else segment.currency,
    )


@register.filter
def letter_in(position: int, run: Run) -> str:
    """Return the letter a blind run shows for column `position` (A, B, C...)."""
    return run.letter_of(int(position))


@register.filter
def trailing_ws(value: object) -> SafeString:
    """Return `value` escaped, with only its trailing whitespace made visible.

    In a column the prefix reads as prose or code; what most changes a continuation is the
    whitespace it ends with (a space, a newline), so that is what gets markers.
    """
    text = "" if value is None else str(value)
    body = text.rstrip()
    tail = text[len(body) :]
    return escape(body) + visible_ws(tail)


@register.filter
def tool_call_views(segment: Segment, run: Run) -> list[CallView]:
    """Return the segment's saved tool calls, each checked against the run's tools."""
    return call_views(segment.tool_calls, run.prompt.tools) if segment.tool_calls else []


@dataclass(frozen=True)
class OfferedTool:
    """One tool of a run's prompt as the run and share pages list it."""

    name: str
    description: str
    strict: bool
    parameters: str


@register.filter
def offered_tools(run: Run) -> list[OfferedTool]:
    """Return the tools the run's prompt offered, their parameters pretty-printed."""
    return [
        OfferedTool(
            tool.name,
            tool.description,
            tool.strict,
            json.dumps(tool.parameters, indent=2, ensure_ascii=False)
            if tool.parameters is not None
            else "",
        )
        for tool in run.prompt.tools
    ]


@register.filter
def tool_choice_word(run: Run) -> str:
    """Return the run's tool choice as the forms write it: auto, none, required or a name."""
    return choice_to_text(run.prompt.tool_choice)


@register.filter
def segment_json(segment: Segment) -> str:
    """Return the column's full text up to `segment`, pretty-printed if it is JSON, else ""."""
    return json_pretty(segment.prefix + segment.text)


def json_pretty(value: object) -> str:
    """Return `value` pretty-printed when it parses as a JSON object or array, else ""."""
    text = str(value or "").strip()
    if not text.startswith(("{", "[")):
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return ""


# The labels of a target row's override chips; static/js/app.js draws the same ones as you type.
def _stop_label(value: object) -> str:
    count = len([line for line in str(value).split("\n") if line != ""])
    return "1 stop" if count == 1 else f"{count} stops"


CHIP_LABELS: dict[str, Callable[[object], str]] = {
    "temperature": lambda value: f"temp {value}",
    "max_tokens": lambda value: f"max {value} tokens",
    "thinking": lambda value: f"thinking {value}",
    "stop": _stop_label,
    "json_mode": lambda value: "JSON mode",
}


@register.filter
def override_chips(form: forms.BaseForm) -> list[tuple[str, str]]:
    """Return (field, label) for each override a target form row has set, bound or initial."""
    chips = []
    for name, label in CHIP_LABELS.items():
        value = form[name].value()
        if value is None or value is False or str(value).strip() == "":
            continue
        if name == "json_mode" and str(value).lower() in ("false", "off", ""):
            continue
        chips.append((name, label(value)))
    return chips


MAX_TEXTAREA_ROWS = 24


@register.filter
def textarea_rows(value: object, default: object = None) -> int:
    """Return enough rows to show `value`, or the default when there is one, whole."""
    texts = [str(value or ""), str(default or "")]
    lines = max(text.count("\n") + 1 for text in texts)
    return max(1, min(lines, MAX_TEXTAREA_ROWS))
