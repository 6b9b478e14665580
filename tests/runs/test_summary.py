"""The one mapping from column outcomes to the words on the run, history and column badges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from playground.runs.summary import ColumnVerdict, RunSummary, add_spend


def _summary(*statuses: str, caveats: tuple[str, ...] = ()) -> RunSummary:
    return RunSummary(tuple(ColumnVerdict(status, caveats) for status in statuses))


@pytest.mark.parametrize(
    ("statuses", "label", "tone"),
    [
        (("done", "done", "done"), "3 done", "ok"),
        (("done", "error", "done"), "2 done · 1 failed", "warn"),
        (("done", "done", "done", "error", "error"), "3 done · 2 failed", "warn"),
        (("error",) * 5 + ("done",), "1 done · 5 failed", "warn"),
        (("error", "error"), "2 failed", "danger"),
        (("done", "skipped"), "1 done · 1 not sent", "warn"),
        (("done", "stopped"), "1 done · 1 stopped", ""),
        (("interrupted", "done"), "1 done · 1 interrupted", "warn"),
        (("running", "done"), "1 done · 1 streaming", "accent"),
    ],
)
def test_it_counts_columns_by_what_happened(
    statuses: tuple[str, ...], label: str, tone: str
) -> None:
    summary = _summary(*statuses)
    assert summary.label == label
    assert summary.tone == tone


def test_it_names_the_caveats_of_finished_columns() -> None:
    note = "1 unreadable chunk skipped"
    one = RunSummary((ColumnVerdict("done", (note,)),))
    assert one.label == "1 done — 1 unreadable chunk skipped"
    assert one.tone == "warn"
    mixed = RunSummary(
        (
            ColumnVerdict("done", ("stream ended without its end marker",)),
            ColumnVerdict("done"),
            ColumnVerdict("error"),
        )
    )
    assert mixed.label == "2 done · 1 failed — stream ended without its end marker"


def test_a_column_verdict_gives_its_badge_and_its_label() -> None:
    verdict = ColumnVerdict("done", ("1 unreadable chunk skipped",))
    assert (verdict.badge, verdict.label, verdict.tone) == (
        "Done",
        "done — 1 unreadable chunk skipped",
        "warn",
    )
    assert (ColumnVerdict("error").badge, ColumnVerdict("error").tone) == ("Failed", "danger")
    assert ColumnVerdict("skipped").badge == "Not sent"
    assert ColumnVerdict("pending").state == "streaming"


def test_it_adds_tokens_and_cost_per_currency() -> None:
    spend = add_spend(
        [
            (10, 20, Decimal("0.000100"), "USD"),
            (5, None, None, ""),
            (1, 2, Decimal("0.001000"), "CNY"),
            (3, 4, Decimal("0.000200"), "USD"),
        ]
    )
    assert (spend.input_tokens, spend.output_tokens) == (19, 26)
    assert spend.cost_label == "¥0.001000 + $0.000300"
    assert add_spend([(1, 1, None, "USD")]).cost_label == "–"
