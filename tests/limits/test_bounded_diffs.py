"""Both diffs keep difflib's output on ordinary texts and give up detail, never time, on the
worst ones. Cost is asserted in matcher steps (deterministic), not seconds."""

from __future__ import annotations

import difflib
import random
from typing import Any

import pytest
from django.test import Client

from playground.prompts import matching
from playground.prompts.diff import MAX_ROWS, diff_contents, diff_text
from playground.runs.diff import MAX_CHARS, MAX_PIECES, TOKEN_RE, compare, word_diff
from tests.keys.factories import make_credential
from tests.prompts.factories import make_template
from tests.runs.conftest import start_run


def _old_word_diff(left: str, right: str) -> list[tuple[str, str]]:
    a, b = TOKEN_RE.findall(left), TOKEN_RE.findall(right)
    pieces = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("delete", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("insert", "".join(b[j1:j2])))
    return pieces


@pytest.mark.parametrize("seed", range(20))
def test_ordinary_texts_diff_exactly_as_difflib_did(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = ["def", "fib", "(", ")", ":", " ", "\n", "return", "n", "x", "  ", "1", "+"]
    left = "".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 400)))
    right = list(left)
    for _ in range(rng.randint(0, 10)):
        right.insert(rng.randint(0, len(right)), rng.choice(vocabulary))
    result = compare(left, "".join(right))
    assert [(p.kind, p.text) for p in result.pieces] == _old_word_diff(left, "".join(right))
    a, b = TOKEN_RE.findall(left), TOKEN_RE.findall("".join(right))
    expected = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    assert result.similarity == pytest.approx(expected)
    assert not result.coarse


def test_a_long_shared_prompt_still_diffs_word_by_word() -> None:
    rng = random.Random(1)
    prompt = " ".join(rng.choice(["the", "a", "of", "to", "and"]) for _ in range(4_000))[:16_000]
    result = compare(prompt + " The cat sat.", prompt + " The dog sat.")
    assert not result.coarse
    assert [(p.kind, p.text) for p in result.pieces] == [
        ("equal", prompt + " The "),
        ("delete", "cat"),
        ("insert", "dog"),
        ("equal", " sat."),
    ]


class _Counting(matching.Work):
    spent = 0

    def spend(self, steps: int) -> None:
        super().spend(steps)
        _Counting.spent += steps


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_Counting]:
    _Counting.spent = 0
    monkeypatch.setattr("playground.runs.diff.Work", _Counting)
    return _Counting


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("a " * 8_000, "b " * 8_000),
        ("\n" * 16_000, "x\n" * 8_000),
        ("a b " * 50_000, "b a " * 50_000),
        ("x " * MAX_CHARS, "y " * MAX_CHARS),
    ],
)
def test_the_worst_run_diffs_stay_within_their_allowance(
    counted: type[_Counting], left: str, right: str
) -> None:
    result = compare(left, right)
    # Four stages at most, each with its own allowance.
    assert counted.spent <= 4 * matching.STEPS
    assert result.coarse
    assert any("shown whole" in note for note in result.notes)
    assert len(result.pieces) <= MAX_PIECES + 2
    shown_left = "".join(p.text for p in result.pieces if p.kind != "insert")
    shown_right = "".join(p.text for p in result.pieces if p.kind != "delete")
    assert shown_left == left[:MAX_CHARS] and shown_right == right[:MAX_CHARS]
    assert result.truncated == (len(left) > MAX_CHARS)


def test_a_work_allowance_refuses_before_spending() -> None:
    work = matching.Work(10)
    with pytest.raises(matching.OverBudget):
        matching.opcodes(list("abcdefgh"), list("abcdefgh"), work)
    assert work.steps == 10


def test_the_worst_revision_diff_is_bounded_in_rows_and_marks_coarse_fields() -> None:
    old = {"prefix": "\n" * 100_000}
    new = {"prefix": "x\n" * 50_000}
    rows = diff_text(old["prefix"], new["prefix"])
    changed = [row for row in rows if row.kind in ("delete", "insert")]
    assert len(changed) <= MAX_ROWS
    assert rows[-1].kind == "omitted" and rows[-1].skipped > 0


def test_a_field_too_costly_to_match_says_so() -> None:
    rng = random.Random(2)
    base: dict[str, Any] = {
        "name": "T",
        "description": "",
        "category": "other",
        "tags": [],
        "system": "",
        "turns": [],
        "reasoning_prefix": "",
        "suffix": "",
        "stop": [],
        "parameters": {"temperature": None, "max_tokens": None, "top_p": None},
        "variables": [],
    }
    one = " ".join(rng.choice("ab") for _ in range(50_000))
    two = " ".join(rng.choice("ab") for _ in range(50_000))
    fields = diff_contents({**base, "prefix": one}, {**base, "prefix": two})
    assert fields[0].label == "Assistant prefix"
    assert "shown whole" in fields[0].note


@pytest.mark.django_db
def test_the_pages_say_when_a_diff_is_coarse(alice: Any, alice_client: Client) -> None:
    credential = make_credential(alice)
    run = start_run(alice, [(credential, "m1"), (credential, "m2")], prefix="")
    for position, text in ((0, "a " * 8_000), (1, "b " * 8_000)):
        segment = run.columns.get(position=position).segments.get()
        segment.text = text
        segment.save()
    body = alice_client.get(f"/runs/{run.code}/diff/").content.decode()
    assert "too long or too different to compare word by word" in body

    template = make_template(alice, prefix="\n" * 20_000)
    template.prefix = "x\n" * 10_000
    template.save(author=alice)
    body = alice_client.get(f"/templates/{template.code}/revisions/2/diff/").content.decode()
    assert f"not shown (a diff page shows at most {MAX_ROWS})" in body


def test_word_diff_keeps_its_old_signature() -> None:
    assert [p.kind for p in word_diff("a b", "a c")] == ["equal", "delete", "insert"]
