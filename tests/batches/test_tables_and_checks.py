"""Reading tables within their limits, and checks that cannot run away."""

from __future__ import annotations

import json

import pytest

from playground.batches import checks
from playground.batches.tables import (
    TableError,
    TableLimits,
    read_delimited,
    read_jsonl,
    read_upload,
)

LIMITS = TableLimits(rows=3, columns=2, value_chars=10)


def test_csv_and_tsv_read_with_their_header() -> None:
    table = read_delimited('a,b\n1,"x, y"\n\n2,\n', LIMITS)
    assert table.columns == ["a", "b"] and table.rows == [["1", "x, y"], ["2", ""]]
    assert read_delimited("a\tb\n1\t2\n", LIMITS).rows == [["1", "2"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n3,4\n5,6\n7,8\n", "more than 3 rows"),
        ("a,b,c\n1,2,3\n", "3 columns; an input set holds at most 2"),
        ("a\n" + "x" * 11 + "\n", "11 characters; the limit is 10"),
        ("a,a\n1,2\n", "appears twice"),
        ("1a,b\n1,2\n", "is a variable name"),
        ("a,b\n1\n", "Row 1 has 1 values"),
        ("a,b\n", "no rows"),
        ("", "empty"),
        ('a\n"unclosed\n', "not valid CSV"),
    ],
)
def test_bad_tables_are_refused_with_a_message(text: str, message: str) -> None:
    with pytest.raises(TableError, match=message):
        read_delimited(text, LIMITS)


def test_jsonl_reads_objects_and_our_exports() -> None:
    plain = read_jsonl('{"a": "x", "b": 2}\n{"a": null}\n', LIMITS)
    assert plain.columns == ["a", "b"] and plain.rows == [["x", "2"], ["", ""]]
    exported = "\n".join(
        json.dumps({"row": row, "inputs": {"a": f"v{row}"}, "target": t})
        for row in (1, 2)
        for t in ("x", "y")
    )
    assert read_jsonl(exported, LIMITS).rows == [["v1"], ["v2"]]
    with pytest.raises(TableError, match="not a list or an object"):
        read_jsonl('{"a": [1]}', LIMITS)
    with pytest.raises(TableError, match="not valid JSON"):
        read_jsonl("{", LIMITS)
    with pytest.raises(TableError, match="not valid JSON"):
        read_jsonl('{"a": ' + "[" * 100_000 + "}", TableLimits(value_chars=100_000))
    with pytest.raises(TableError, match="UTF-8"):
        read_upload("x.csv", b"\xff\xfe", LIMITS)


def test_checks() -> None:
    fence = checks.parse_check("fence", "")
    assert checks.evaluate(fence, "```python\n", "print(1)\n```\n")
    assert not checks.evaluate(fence, "```python\n", "print(1)\n")
    json_check = checks.parse_check("json", "")
    assert checks.evaluate(json_check, '{"a": ', "1}")
    assert not checks.evaluate(json_check, '{"a": ', "1,")
    assert checks.evaluate(checks.parse_check("contains", "x"), "", "axb")
    assert checks.evaluate(checks.parse_check("not_contains", "x"), "", "ab")
    assert checks.evaluate(checks.parse_check("regex", r"^\d+$"), "", "123")


def test_a_catastrophic_pattern_runs_in_linear_time_or_is_refused() -> None:
    evil = checks.parse_check("regex", r"(a+)+$")
    # A backtracking engine takes exponential time here; RE2 answers at once.
    assert not checks.evaluate(evil, "", "a" * 50_000 + "!")
    with pytest.raises(checks.CheckError, match="RE2"):
        checks.parse_check("regex", r"(a)\1")
    with pytest.raises(checks.CheckError, match="200 characters"):
        checks.parse_check("regex", "a" * 201)
    with pytest.raises(checks.CheckError, match="needs a value"):
        checks.parse_check("contains", "")
