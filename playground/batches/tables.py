"""Reading a table of variable values: pasted CSV/TSV, an uploaded CSV or JSONL, our own exports.

Pure Python (no Django). Every reader returns a `Table` (column names and rows of strings) or
raises `TableError` with a message for the page. The limits come in as a `TableLimits`, checked
while reading, so a hostile file costs at most one pass over its (size-capped) bytes:
rows past the limit are refused as soon as they are seen, not after the whole file is parsed.

Our own exports read back as the input set they came from: a CSV export's `input.<name>`
columns, or a JSONL export's `inputs` objects, one row per input row (the export has one line
per cell, so rows repeat once per target).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
EXPORT_PREFIX = "input."  # how a CSV export names the input columns
ROW_COLUMN = "row"


class TableError(ValueError):
    """The table cannot be read or is over a limit; the message says which and where."""


@dataclass(frozen=True)
class TableLimits:
    rows: int = 500  # BATCH_MAX_ROWS
    columns: int = 50  # BATCH_MAX_COLUMNS
    value_chars: int = 10_000  # BATCH_MAX_VALUE_CHARS


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def check_columns(names: list[str], limits: TableLimits) -> list[str]:
    """Return the header as column names, or raise TableError naming the first bad one."""
    cleaned = [name.strip() for name in names]
    if not cleaned or cleaned == [""]:
        raise TableError("The first line must name the columns (one per variable).")
    if len(cleaned) > limits.columns:
        raise TableError(
            f"The table has {len(cleaned)} columns; an input set holds at most "
            f"{limits.columns} (BATCH_MAX_COLUMNS)."
        )
    seen: set[str] = set()
    for number, name in enumerate(cleaned, start=1):
        if not NAME_RE.match(name):
            shown = name[:40] or "(empty)"
            raise TableError(
                f"Column {number} is named “{shown}”: a column name is a variable name "
                "(letters, digits and _, not starting with a digit)."
            )
        if name in seen:
            raise TableError(f"The column “{name}” appears twice.")
        seen.add(name)
    return cleaned


def _value(value: str, row: int, column: str, limits: TableLimits) -> str:
    if len(value) > limits.value_chars:
        raise TableError(
            f"Row {row}, column “{column}”: the value is {len(value):,} characters; "
            f"the limit is {limits.value_chars:,} (BATCH_MAX_VALUE_CHARS)."
        )
    return value


def _check_row_count(count: int, limits: TableLimits) -> None:
    if count > limits.rows:
        raise TableError(
            f"The table has more than {limits.rows:,} rows, the most an input set holds "
            "(BATCH_MAX_ROWS)."
        )


def read_delimited(text: str, limits: TableLimits, delimiter: str | None = None) -> Table:
    """Read CSV or TSV text (tab-separated when its first line holds a tab)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise TableError("The table is empty.")
    first = text.split("\n", 1)[0]
    if delimiter is None:
        delimiter = "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        if any(name.startswith(EXPORT_PREFIX) for name in header):
            return _from_export_rows(header, reader, limits)
        columns = check_columns(header, limits)
        table = Table(columns)
        for number, raw in enumerate(reader, start=1):
            if not raw or raw == [""] * len(raw):
                continue  # blank lines between rows
            if len(raw) != len(columns):
                raise TableError(
                    f"Row {number} has {len(raw)} values; the header names {len(columns)} columns."
                )
            _check_row_count(len(table.rows) + 1, limits)
            table.rows.append(
                [_value(v, number, c, limits) for v, c in zip(raw, columns, strict=True)]
            )
    except csv.Error as error:
        raise TableError(f"The table is not valid CSV: {error}.") from None
    if not table.rows:
        raise TableError("The table has a header but no rows.")
    return table


def _from_export_rows(header: list[str], reader: Iterator[list[str]], limits: TableLimits) -> Table:
    """Read a CSV export back: its `input.*` columns, one row per distinct `row` number."""
    positions = [i for i, name in enumerate(header) if name.startswith(EXPORT_PREFIX)]
    columns = check_columns([header[i].removeprefix(EXPORT_PREFIX) for i in positions], limits)
    row_at = header.index(ROW_COLUMN) if ROW_COLUMN in header else None
    seen: set[str] = set()
    table = Table(columns)
    for number, raw in enumerate(reader, start=1):
        if not raw:
            continue
        if len(raw) != len(header):
            raise TableError(
                f"Line {number + 1} has {len(raw)} values; the header names {len(header)}."
            )
        key = raw[row_at] if row_at is not None else str(number)
        if key in seen:
            continue
        seen.add(key)
        _check_row_count(len(table.rows) + 1, limits)
        table.rows.append([_value(raw[i], number, header[i], limits) for i in positions])
    if not table.rows:
        raise TableError("The export has no rows.")
    return table


def _jsonl_value(value: object, row: int, column: str, limits: TableLimits) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _value(value, row, column, limits)
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise TableError(
        f"Line {row}, “{column}”: a value must be text or a number, not a list or an object."
    )


def read_jsonl(text: str, limits: TableLimits) -> Table:
    """Read JSON Lines: one object per line (or a JSONL export, whose lines carry `inputs`)."""
    records: list[tuple[int, dict[str, object]]] = []
    seen_rows: set[object] = set()
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        if len(line) > limits.value_chars * limits.columns + 100_000:
            raise TableError(f"Line {number} is too long to be one row.")
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            message = getattr(error, "msg", "too deeply nested")
            raise TableError(f"Line {number} is not valid JSON: {message}.") from None
        if not isinstance(record, dict):
            raise TableError(f"Line {number} must be a JSON object.")
        inputs = record.get("inputs")
        if isinstance(inputs, dict):  # one of our exports: one line per cell
            key = record.get(ROW_COLUMN)
            key = key if isinstance(key, str | int) else f"line {number}"
            if key in seen_rows:
                continue
            seen_rows.add(key)
            record = inputs
        _check_row_count(len(records) + 1, limits)
        records.append((number, record))
    if not records:
        raise TableError("The file holds no rows.")
    names: dict[str, None] = {}
    for _, record in records:
        for name in record:
            names.setdefault(str(name), None)
    columns = check_columns(list(names), limits)
    table = Table(columns)
    for number, record in records:
        table.rows.append([_jsonl_value(record.get(c), number, c, limits) for c in columns])
    return table


def _lines(text: str) -> Iterable[str]:
    return text.lstrip("\ufeff").splitlines()


def read_upload(name: str, data: bytes, limits: TableLimits) -> Table:
    """Read an uploaded file: JSON Lines by its name (.jsonl, .ndjson), CSV/TSV otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TableError("The file is not UTF-8 text.") from None
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return read_jsonl(text, limits)
    return read_delimited(text, limits, "\t" if lowered.endswith(".tsv") else None)


def to_csv(table: Table) -> str:
    """Return the table as CSV (header first), as an input set is downloaded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return out.getvalue()
