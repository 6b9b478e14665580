"""Template editor and import: sizes, turns, stops, import size, depth and huge numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from playground.prompts import schema
from playground.prompts.budget import Budget
from playground.prompts.models import PrefixTemplate
from tests.prompts.test_editor import _form


def _document(**template: Any) -> str:
    item = {"name": "T", "prefix": "p", **template}
    return json.dumps({"schema": schema.SCHEMA, "version": 1, "templates": [item]})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 1_000 + "]" * 1_000, "nest 1,000 deep; an import may nest at most 20"),
        ('{"a": ' + "[" * 25 + "]" * 25 + "}", "(MAX_IMPORT_DEPTH)"),
        ('{"version": ' + "9" * 5_000 + "}", "a number has more than 20 digits"),
        ('{"version": -' + "9" * 5_000 + "}", "a number has more than 20 digits"),
        (
            _document(stop=["s"] * 10_000),
            "at most 16 items (MAX_STOP_SEQUENCES; this one has 10,000)",
        ),
        (_document(prefix="p" * 100_001), "at most 100,000 characters (MAX_TEXT_CHARS"),
        (_document(turns=[{"role": "user", "content": "c"}] * 51), "(MAX_TURNS; this one has 51)"),
        (
            _document(
                prefix="{{x}}" * 1_000,
                variables=[{"name": "x", "default": "y" * 1_000}],
            ),
            "the template is 1,000,000 characters; the limit is 200,000 (MAX_PROMPT_CHARS)",
        ),
        (json.dumps({"schema": 1, "version": [[[]]] * 3}), "unsupported version of that kind"),
    ],
)
def test_the_import_refuses_with_a_message_not_a_500(
    alice_client: Client, text: str, message: str
) -> None:
    response = alice_client.post("/templates/import/", {"text": text})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not PrefixTemplate.objects.exists()


@pytest.mark.django_db
def test_the_import_refuses_a_file_over_the_size_limit(alice_client: Client, settings: Any) -> None:
    settings.MAX_IMPORT_MB = 1
    upload = SimpleUploadedFile("t.json", b" " * (1_048_576 + 1))
    response = alice_client.post("/templates/import/", {"file": upload})
    assert "an import may be at most 1 MB (MAX_IMPORT_MB)" in response.content.decode()


def test_parse_refuses_text_over_the_size_limit_before_parsing() -> None:
    _, problems = schema.parse("[" * 2_000, Budget(import_bytes=1_000))
    assert "(MAX_IMPORT_MB)" in str(problems[0])


def test_nesting_depth_skips_brackets_inside_strings() -> None:
    assert schema.nesting_depth('{"a": ["[[[[", {"b": "\\"[{"}]}') == 3
    assert schema.nesting_depth('"unclosed [[[[') == 0
    assert schema.nesting_depth("") == 0


@pytest.mark.django_db
def test_the_editor_refuses_a_template_whose_defaults_make_it_too_large(
    alice_client: Client,
) -> None:
    data = _form(
        prefix="{{x}}" * 1_000,
        **{"var-x-default": "y" * 1_000, "var-x-description": ""},
        **{"turns-0-content": "hi"},
    )
    response = alice_client.post("/templates/new/", data)
    body = response.content.decode()
    assert "the template is 1,000,005 characters; the limit is 200,000 (MAX_PROMPT_CHARS)" in body
    assert "{{x}}" * 1_000 in body  # kept as typed
    assert not PrefixTemplate.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prefix": "p" * 100_001}, "MAX_TEXT_CHARS"),
        ({"turns-0-content": "c" * 100_001}, "MAX_TEXT_CHARS"),
        # The compare page's messages (docs/limits.md): both pages check stops in one field.
        (
            {"stop": "s\n" * 10_000},
            "At most 16 stop sequences (MAX_STOP_SEQUENCES); this has 10,000",
        ),
        ({"stop": "s" * 201}, "A stop sequence is at most 200 characters (MAX_STOP_CHARS)"),
        # Rows are read by number (no management form): a 30-digit number is no row,
        # and more rows than MAX_TURNS is refused with the limit named.
        (
            {f"turns-{'9' * 30}-role": "user"}
            | {f"turns-{index}-role": "user" for index in range(1, 60)},
            "A prompt holds at most 50 turns (MAX_TURNS).",
        ),
    ],
)
def test_the_editor_refuses_oversize_texts_naming_the_limit(
    alice_client: Client, fields: dict[str, str], message: str
) -> None:
    response = alice_client.post("/templates/new/", _form(**fields))
    assert response.status_code < 500
    assert message in response.content.decode()
    assert not PrefixTemplate.objects.exists()
