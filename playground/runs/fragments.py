"""Small HTML fragments of a run page built in Python: they are rendered several times a second
per streaming column, where a template would cost more than the text it wraps."""

from __future__ import annotations

import functools
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

from playground.providers.catalog import model_info

from .models import RunColumn, cost_of
from .relay import ColumnOutcome


def _number(value: float | int | None, unit: str, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{unit}"


def metrics_html(
    *,
    ttft_ms: int | None,
    elapsed_ms: int | None,
    input_tokens: int | None,
    output_tokens: int | None,
    tokens_per_second: float | None,
    finish_reason: str,
    cost: Decimal | None,
    currency: str,
    live_chars: int | None = None,
) -> SafeString:
    """Return the metrics bar of a column (live or final) as an HTML fragment."""
    out = (
        _number(output_tokens, "")
        if output_tokens is not None
        else (f"~{live_chars // 4:,}" if live_chars else "–")
    )
    cost_text = "–" if cost is None else f"{'¥' if currency == 'CNY' else '$'}{cost:.6f}"
    # Only the finish reason comes from the provider; every other field is a number this
    # function formatted. `format_html` escaped all seven per call, and this fragment goes out
    # twice a second per streaming column: escaping the one that needs it costs a third as much
    # (BENCHMARKS.md, "Relay at 100 concurrent runs").
    return mark_safe(  # noqa: S308 - the one field that can hold markup is escaped here
        '<dl class="metrics">'
        f"<div><dt>First token</dt><dd>{_number(ttft_ms, ' ms')}</dd></div>"
        "<div><dt>Elapsed</dt><dd>"
        f"{_number(None if elapsed_ms is None else elapsed_ms / 1000, ' s', 1)}</dd></div>"
        f"<div><dt>Tokens in / out</dt><dd>{_number(input_tokens, '')} / {out}</dd></div>"
        f"<div><dt>Tokens/s</dt><dd>{_number(tokens_per_second, '', 1)}</dd></div>"
        f"<div><dt>Finish</dt><dd>{escape(finish_reason) if finish_reason else '–'}</dd></div>"
        f"<div><dt>Cost</dt><dd>{cost_text}</dd></div>"
        "</dl>"
    )


# The live metrics of every streaming column look their model up several times a second; the
# catalog is read once per process, so its answers can be kept.
_cached_model_info = functools.lru_cache(maxsize=512)(model_info)


def outcome_metrics(column: RunColumn, outcome: ColumnOutcome, *, blinded: bool = False) -> str:
    """Return the live metrics bar for a column still streaming (or just ended).

    `blinded` leaves the cost out: a price names its model (docs/verdicts.md).
    """
    usage = outcome.usage
    output_tokens = usage.output_tokens if usage else None
    tps = None
    if output_tokens and outcome.first_token_at is not None:
        seconds = (outcome.elapsed_ms - (outcome.ttft_ms or 0)) / 1000
        tps = output_tokens / seconds if seconds > 0 else None
    info = _cached_model_info(column.provider, column.model)
    cost = cost_of(
        usage.input_tokens if usage else None,
        output_tokens,
        info.price_input_per_mtok,
        info.price_output_per_mtok,
    )
    return metrics_html(
        ttft_ms=outcome.ttft_ms,
        elapsed_ms=outcome.elapsed_ms,
        input_tokens=usage.input_tokens if usage else None,
        output_tokens=output_tokens,
        tokens_per_second=tps,
        finish_reason=outcome.finish.reason if outcome.finish else "",
        cost=None if blinded else cost,
        currency="" if blinded else info.currency or "",
        live_chars=outcome.char_count,
    )
