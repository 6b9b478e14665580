"""Import and export in the versioned JSON schema: problems by field, all or nothing."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from playground.accounts.models import User
from playground.prompts import schema
from playground.prompts.models import PrefixTemplate, Visibility
from tests.prompts.factories import make_template


def _rich_template(owner: User) -> PrefixTemplate:
    template = PrefixTemplate(
        owner=owner,
        name="Everything 全部",
        description="Uses every field.\nTwo lines.",
        category="fim",
        tags=["python", "fim", "中文"],
        system="You complete {{language}} code. ",
        turns=[
            {"role": "user", "content": "Look:", "images": ["https://example.com/a.png?x=1"]},
            {"role": "assistant", "content": "  indented\r\nno: plain \n", "images": []},
        ],
        prefix="def {{name}}(items):\n\t",
        reasoning_prefix="First, ",
        suffix="\n    return result\n",
        stop=["\n\n", "```", "\t"],
        temperature=0.7,
        max_tokens=321,
        top_p=0.95,
        variable_notes=[
            {"name": "language", "default": "Python", "description": "Language"},
            {"name": "name", "default": " ", "description": ""},
        ],
    )
    template.save(author=owner)
    return template


def _import(client: Client, document: Any) -> Any:
    return client.post("/templates/import/", {"text": json.dumps(document)})


def test_it_round_trips_every_field_exactly(
    alice: User, alice_client: Client, bob: User, bob_client: Client
) -> None:
    original = _rich_template(alice)

    exported = alice_client.get(f"/templates/{original.code}/export/")
    upload = SimpleUploadedFile("t.json", exported.content, content_type="application/json")
    response = bob_client.post("/templates/import/", {"file": upload})

    assert response.status_code == 302
    copy = PrefixTemplate.objects.get(owner=bob)
    assert copy.content() == original.content()
    for field in ("system", "turns", "prefix", "reasoning_prefix", "suffix", "stop"):
        assert getattr(copy, field) == getattr(original, field)
    assert (copy.temperature, copy.max_tokens, copy.top_p) == (0.7, 321, 0.95)
    assert [(v.name, v.default) for v in copy.variables()] == [
        ("language", "Python"),
        ("name", " "),
    ]
    assert copy.visibility == Visibility.PRIVATE
    assert copy.revisions.get().note == "Imported"


def test_it_exports_a_documented_versioned_document(alice: User, alice_client: Client) -> None:
    template = make_template(alice, name="Fence")

    response = alice_client.get(f"/templates/{template.code}/export/")

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="fence.json"'
    document = json.loads(response.content)
    assert (document["schema"], document["version"]) == ("prefix-playground/templates", 2)
    # speaker_name and the tools are optional and written only when set.
    optional = ("key", "speaker_name", "tools", "tool_choice")
    expected = [f for f in schema.TEMPLATE_FIELDS if f not in optional]
    assert list(document["templates"][0]) == expected


def test_it_round_trips_a_speaker_name(alice: User, alice_client: Client) -> None:
    template = make_template(alice, name="Role-play", prefix="Good evening,")
    template.speaker_name = "凯尔希"
    template.save()

    exported = json.loads(alice_client.get(f"/templates/{template.code}/export/").content)
    item = exported["templates"][0]
    assert list(item)[-1] == "speaker_name"
    assert item["speaker_name"] == "凯尔希"
    templates, problems = schema.read_document(exported)
    assert problems == []
    assert templates[0]["speaker_name"] == "凯尔希"
    assert templates[0] == {**template.content(), "key": ""}


def test_it_refuses_a_speaker_name_on_two_lines_or_too_long() -> None:
    base = {"name": "x", "prefix": "Hi"}
    problems: list[schema.Problem] = []
    schema.read_template({**base, "speaker_name": "a\nb"}, "t", problems)
    schema.read_template({**base, "speaker_name": "n" * 65}, "t", problems)
    schema.read_template({**base, "speaker_name": 7}, "t", problems)
    assert [str(p) for p in problems] == [
        "t.speaker_name: must be one line",
        "t.speaker_name: at most 64 characters (this one has 65)",
        "t.speaker_name: must be a string",
    ]


def test_it_exports_the_filtered_library_the_user_can_see(
    alice: User, alice_client: Client, charlie: User
) -> None:
    make_template(alice, name="Mine", tags=["keep"])
    make_template(alice, name="Other tag", tags=["drop"])
    make_template(charlie, name="Charlie's private", tags=["keep"])

    response = alice_client.get("/templates/export/?tag=keep")

    names = [t["name"] for t in json.loads(response.content)["templates"]]
    assert names == ["Mine"]


def test_it_reports_every_problem_by_field_and_creates_nothing(
    alice: User, alice_client: Client
) -> None:
    document = {
        "schema": "prefix-playground/templates",
        "version": 1,
        "templates": [
            {"name": "Fine", "prefix": "```sql\n"},
            {"name": "No prefix", "category": "poetry"},
            {
                "name": "",
                "prefix": "x",
                "turns": [
                    {"role": "assistant", "content": "", "images": ["http://x.test/a.png"]},
                    {"role": "user", "content": ""},
                ],
                "parameters": {"temperature": 3, "max_tokens": 1.5},
                "stop": ["", 7],
                "variables": [{"name": "ghost"}],
                "colour": "red",
            },
        ],
    }

    response = _import(alice_client, document)

    assert response.status_code == 422
    problems = [str(problem) for problem in response.context["problems"]]
    assert problems == [
        "templates[1].category: must be one of code_fence, story, json, roleplay, fim, other",
        "templates[1].prefix: required",
        "templates[2].colour: unknown field",
        "templates[2].turns[0].images: only user turns may carry images",
        "templates[2].turns[0].images[0]: must be an https:// URL",
        "templates[2].turns[1].content: required (a turn needs text or an image)",
        "templates[2].stop[0]: must be a non-empty string without NUL",
        "templates[2].stop[1]: must be a non-empty string without NUL",
        "templates[2].parameters.temperature: must be between 0 and 2",
        "templates[2].parameters.max_tokens: must be a whole number or null",
        "templates[2].name: required",
        "templates[2].variables[0].name: {{ghost}} is not used in any text of the template",
    ]
    assert "<code>templates[1].prefix</code>: required" in response.content.decode()
    assert not PrefixTemplate.objects.exists()


def test_it_reports_json_that_does_not_parse(alice_client: Client) -> None:
    response = alice_client.post("/templates/import/", {"text": '{"schema": "x",,}'})

    problems = [str(problem) for problem in response.context["problems"]]
    assert problems == [
        "document: not valid JSON (Expecting property name enclosed in double quotes "
        "at line 1, column 16)"
    ]
    assert not PrefixTemplate.objects.exists()


def test_it_refuses_another_schema_or_version(alice_client: Client) -> None:
    response = _import(alice_client, {"schema": "other", "version": 3, "templates": []})

    problems = [str(problem) for problem in response.context["problems"]]
    assert problems == [
        "schema: must be 'prefix-playground/templates'",
        "version: unsupported version 3 (expected 1 or 2)",
        "templates: must hold at least one template",
    ]


def test_it_asks_for_a_file_or_text(alice_client: Client) -> None:
    response = alice_client.post("/templates/import/", {"text": "  "})

    assert response.context["form"].non_field_errors() == [
        "Choose a file or paste the JSON to import."
    ]


def test_it_imports_several_templates_as_private(alice: User, alice_client: Client) -> None:
    document = {
        "schema": "prefix-playground/templates",
        "version": 1,
        "templates": [
            {"name": "One", "prefix": "{", "tags": ["JSON", "Data Set"]},
            {"name": "Two", "prefix": "", "reasoning_prefix": "Think:", "key": "ignored"},
        ],
    }

    response = _import(alice_client, document)

    assert response.status_code == 302
    imported = PrefixTemplate.objects.filter(owner=alice).order_by("name")
    assert [t.name for t in imported] == ["One", "Two"]
    assert imported[0].tags == ["json", "data-set"]
    assert {t.visibility for t in imported} == {Visibility.PRIVATE}
    assert {t.key for t in imported} == {""}


def test_it_treats_an_empty_default_as_no_default() -> None:
    content = schema.read_template(
        {"name": "x", "prefix": "{{a}}", "variables": [{"name": "a", "default": ""}]}, "", []
    )

    assert content["variables"] == [{"name": "a", "default": None, "description": ""}]


def test_it_refuses_nul_characters_which_postgresql_cannot_store() -> None:
    problems: list[schema.Problem] = []

    schema.read_template({"name": "x", "prefix": "a\x00b", "tags": ["t\x00"]}, "t", problems)

    assert [str(problem) for problem in problems] == [
        "t.tags[0]: a tag is 1–40 characters, no comma or bar",
        "t.prefix: must not contain NUL characters",
    ]
