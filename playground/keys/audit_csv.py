"""The audit trail of a team's credentials as CSV: no secret, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC

from .usage import TeamUse

HEADER = [
    "when (UTC)",
    "member",
    "credential",
    "provider",
    "model",
    "run",
    "column",
    "status",
    "input tokens",
    "output tokens",
    "tokens counted",
    "estimated",
    "cost",
    "currency",
]
# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Return `value` as a CSV cell that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row_of(use: TeamUse) -> list[str]:
    return [
        safe_cell(cell)
        for cell in (
            use.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            use.username,
            use.credential_label,
            use.provider,
            use.model,
            use.run_code,
            use.position + 1,
            use.status or ("reserved" if use.settled_at is None else ""),
            use.input_tokens,
            use.output_tokens,
            use.tokens if use.settled_at else use.reserved_tokens,
            "yes" if use.tokens_estimated or use.settled_at is None else "no",
            use.cost,
            use.currency,
        )
    ]


def audit_csv(uses: Iterable[TeamUse]) -> str:
    """Return the uses as CSV text, a header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for use in uses:
        writer.writerow(row_of(use))
    return out.getvalue()
