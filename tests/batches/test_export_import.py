"""Exports: CSV and JSONL, one line per cell; both read back as an input set with the same rows."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from playground.batches.models import Batch, Cell, CellStatus, InputSet, start_batch
from playground.keys.models import Credential
from tests.prompts.factories import make_template

ROWS = [
    ["plain", "1"],
    ["with, a comma", "2"],
    ['with "quotes"', "3"],
    ["two\nlines", "4"],
    ["=SUM(A1:A9)", "-5"],
    ["ünïcödé ✓ 表", ""],
    ["  leading and trailing spaces  ", "7"],
]
SECRET = "sim-export-secret-key-123456789"


def _batch(user: User) -> Batch:
    template = make_template(
        user,
        prefix="{{topic}} #{{n}}:",
        turns=[{"role": "user", "content": "Write about {{topic}}", "images": []}],
        variable_notes=[{"name": "n", "default": "0", "description": ""}],
    )
    input_set = InputSet(template=template, name="Tricky", columns=["topic", "n"], rows=ROWS)
    input_set.save(author=user)
    credential = Credential(user=user, provider="deepseek", label="Sim", base_url="")
    credential.set_key(SECRET)
    credential.save()
    batch = start_batch(
        user=user,
        template=template,
        input_set=input_set,
        targets=[
            {"credential": credential, "model": "a"},
            {"credential": credential, "model": "b"},
        ],
        checks=[],
    )
    # One finished cell whose text starts like a formula and holds the key.
    Cell.objects.filter(batch=batch, row=4).update(
        status=CellStatus.DONE, error_message="", output_tokens=3
    )
    return batch


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_an_export_reimports_as_an_input_set_with_the_same_rows(
    alice: User, alice_client: Client, kind: str
) -> None:
    batch = _batch(alice)
    response = alice_client.get(reverse("batches:export", args=[batch.code, kind]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    text = body.decode()
    assert SECRET not in text
    lines = (
        list(csv.reader(io.StringIO(text)))[1:]
        if kind == "csv"
        else [json.loads(line) for line in text.splitlines()]
    )
    assert len(lines) == len(ROWS) * 2  # one per cell
    upload = SimpleUploadedFile(f"export.{kind}", body)
    answer = alice_client.post(
        reverse("batches:template", args=[batch.template.code]),
        {"name": "Round trip", "table": "", "upload": upload},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    again = InputSet.objects.get(name="Round trip")
    assert again.columns == ["topic", "n"]
    assert again.rows == ROWS


def test_the_csv_export_defuses_formulas_in_model_text_only(
    alice: User, alice_client: Client
) -> None:
    batch = _batch(alice)
    cell = Cell.objects.filter(batch=batch, row=0).first()
    assert cell is not None
    Cell.objects.filter(pk=cell.pk).update(error_message="=HYPERLINK(1)")
    text = b"".join(
        alice_client.get(reverse("batches:export", args=[batch.code, "csv"])).streaming_content
    ).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["error"] == "'=HYPERLINK(1)"
    assert rows[8]["input.topic"] == "=SUM(A1:A9)"


def test_someone_elses_batch_is_not_found(alice: User, charlie_client: Client) -> None:
    batch = _batch(alice)
    for name in ("detail", "poll"):
        assert charlie_client.get(reverse(f"batches:{name}", args=[batch.code])).status_code == 404
    url = reverse("batches:export", args=[batch.code, "csv"])
    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(reverse("batches:cancel", args=[batch.code])).status_code == 404
