"""The grid as CSV or JSON Lines: one line per cell, with its row's inputs, streamed.

Inputs go in `input.<name>` columns (CSV) or an `inputs` object (JSONL), which is how an
export reads back as an input set (tables.py). Keys never appear: a target is named by its
label, provider and model, and the saved text had the key scrubbed when the run was saved.
Model text that starts like a spreadsheet formula (= + - @) is prefixed with a quote in the
CSV, so opening the export in a spreadsheet runs nothing; the JSONL keeps the text as it is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from .models import Batch, Cell

FIELDS = (
    "target",
    "provider",
    "model",
    "status",
    "text",
    "finish_reason",
    "stop_sequence",
    "error",
    "input_tokens",
    "output_tokens",
    "ttft_ms",
    "elapsed_ms",
    "tokens_per_second",
    "cost",
    "currency",
    "checks",
    "run",
)
CHUNK = 100


def _cells(batch: Batch) -> Iterator[Cell]:
    cells = (
        Cell.objects.filter(batch=batch)
        .select_related("target", "segment", "run")
        .only(
            *[f.name for f in Cell._meta.concrete_fields],
            "target__label",
            "target__provider",
            "target__model",
            "target__position",
            "segment__text",
            "run__code",
        )
        .order_by("row", "target__position")
    )
    return cells.iterator(chunk_size=CHUNK)


def record(batch: Batch, cell: Cell) -> dict[str, Any]:
    return {
        "row": cell.row + 1,
        # In the input set's column order (PostgreSQL's jsonb does not keep key order).
        "inputs": {name: cell.variables.get(name, "") for name in batch.columns},
        "target": cell.target.label,
        "provider": cell.target.provider,
        "model": cell.target.model,
        "status": cell.status,
        "text": cell.segment.text if cell.segment is not None else "",
        "finish_reason": cell.finish_reason,
        "stop_sequence": cell.stop_sequence,
        "error": cell.error_message,
        "input_tokens": cell.input_tokens,
        "output_tokens": cell.output_tokens,
        "ttft_ms": cell.ttft_ms,
        "elapsed_ms": cell.elapsed_ms,
        "tokens_per_second": cell.tokens_per_second,
        "cost": str(cell.cost) if cell.cost is not None else None,
        "currency": cell.currency,
        "checks": list(cell.checks or []),
        "run": str(cell.run.code) if cell.run is not None else None,
    }


def _defuse(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def csv_lines(batch: Batch) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    inputs = list(batch.columns)
    writer.writerow(["row", *[f"input.{name}" for name in inputs], *FIELDS])
    yield out.getvalue()
    for cell in _cells(batch):
        out.seek(0)
        out.truncate()
        item = record(batch, cell)
        checks = item["checks"]
        item["checks"] = " ".join("pass" if ok else "fail" for ok in checks)
        values = [item[name] for name in FIELDS]
        values = [
            _defuse(v) if name in ("text", "error") else v
            for name, v in zip(FIELDS, values, strict=True)
        ]
        writer.writerow([item["row"], *[item["inputs"].get(n, "") for n in inputs], *values])
        yield out.getvalue()


def jsonl_lines(batch: Batch) -> Iterator[str]:
    for cell in _cells(batch):
        yield json.dumps(record(batch, cell), ensure_ascii=False) + "\n"
