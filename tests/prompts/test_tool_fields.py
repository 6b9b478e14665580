"""The Tools field on the editor and the compare page: clear messages, nothing typed lost."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from playground.accounts.models import User
from playground.prompts.budget import Budget
from playground.prompts.forms import tools_from_text
from playground.prompts.models import PrefixTemplate
from tests.prompts.test_editor import _form, _textareas

GOOD = [{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}]


def _problems(value: object) -> list[str]:
    return tools_from_text(json.dumps(value), Budget())[1]


def test_each_problem_names_the_tool_and_field() -> None:
    assert _problems(GOOD) == []
    assert _problems({"name": "x"}) == ["tools: must be a JSON list of tools ([] for none)"]
    assert _problems([{"description": "no name"}]) == [
        "tools[0].name: required: 1-64 letters, digits, underscores or hyphens"
    ]
    assert _problems([GOOD[0], GOOD[0]]) == [
        "tools[1].name: 'get_weather' is used twice; tool names must be unique"
    ]
    assert _problems([{"name": "a", "parameters": {"type": "string"}}]) == [
        'tools[0].parameters: the parameters schema must have "type": "object"'
    ]
    assert _problems([{"name": "a", "strict": "yes"}]) == ["tools[0].strict: must be true or false"]
    assert _problems([{"name": "a", "argz": {}}]) == [
        "tools[0].argz: unknown field (a tool has name, description, parameters, strict, result)"
    ]
    assert _problems([{"name": "a", "result": 18}]) == ["tools[0].result: must be a string"]
    assert _problems([{"name": "a", "result": "x" * 20_001}]) == [
        "tools[0].result: at most 20,000 characters (MAX_TOOL_RESULT); this has 20,001"
    ]
    assert tools_from_text(json.dumps([{"name": "a", "result": "18 C"}]), Budget())[0][
        0
    ].result == ("18 C")
    assert tools_from_text('[{"name": "a",}]', Budget())[1] == [
        "Not valid JSON: Expecting property name enclosed in double quotes at line 1, column 15."
    ]


def test_the_limits_are_named() -> None:
    many = [{"name": f"f{index}"} for index in range(129)]
    assert _problems(many) == ["tools: at most 128 tools (MAX_TOOLS); this has 129"]
    big = [{"name": "a", "description": "x" * 3000}] * 40
    text = json.dumps(big)
    assert tools_from_text(text, Budget())[1] == [
        f"The tools text is {len(text):,} characters; the limit is 100,000 (MAX_TOOLS_CHARS)."
    ]
    deep = "[" * 30 + "]" * 30
    assert tools_from_text(deep, Budget())[1] == [
        "The tools nest 30 deep; at most 20 (MAX_IMPORT_DEPTH)."
    ]


@pytest.mark.django_db
def test_the_editor_keeps_the_typed_tools_and_says_what_is_wrong(
    alice: User, alice_client: Client
) -> None:
    typed = '[{"name": "get weather"}]'
    response = alice_client.post("/templates/new/", _form(tools=typed, prefix="kept \n"))

    body = response.content.decode()
    assert not PrefixTemplate.objects.exists()
    assert "tools[0].name: required: 1-64 letters, digits, underscores or hyphens" in body
    assert _textareas(body, "tools") == [typed]
    assert _textareas(body, "prefix") == ["kept \n"]


@pytest.mark.django_db
def test_the_editor_refuses_a_choice_that_is_not_a_tool(alice_client: Client) -> None:
    response = alice_client.post(
        "/templates/new/", _form(tools=json.dumps(GOOD), tool_choice="get_time")
    )

    body = response.content.decode()
    assert not PrefixTemplate.objects.exists()
    assert "&#x27;get_time&#x27; is not auto, none, required or the name of a tool" in body
    assert 'value="get_time"' in body


@pytest.mark.django_db
@override_settings(MAX_TOOLS=1)
def test_the_compare_page_uses_the_same_checks_and_keeps_the_text(alice_client: Client) -> None:
    typed = json.dumps([{"name": "a"}, {"name": "b"}])
    response = alice_client.post(
        "/runs/new/", {"prefix": "Hello", "tools": typed, "turns-0-role": "user"}
    )

    body = response.content.decode()
    assert "tools: at most 1 tools (MAX_TOOLS); this has 2" in body
    assert _textareas(body, "tools") == [typed]
