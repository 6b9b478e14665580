"""Tools survive the whole trip: editor -> save -> revision -> export (v2) -> import -> compare
form -> run -> the request the provider layer builds. A version 1 file still imports."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.test import Client

from playground.accounts.models import User
from playground.prompts import schema
from playground.prompts.models import PrefixTemplate
from playground.providers import prepare
from playground.providers.prompt import Prompt
from playground.providers.tools import ToolChoice, ToolDef
from playground.runs.models import Run
from playground.runs.streaming import completion_request
from tests.runs.conftest import Sim, make_sim_credential
from tests.runs.test_prompt_round_trip import _crlf, _form_fields

WEATHER = ToolDef(
    "get_weather",
    "Current weather in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
    strict=True,
)
CONVERT = ToolDef(
    "convert_units",
    "Convert a value between units.",
    {
        "type": "object",
        "properties": {"value": {"type": "number"}, "from": {"type": "string"}},
        "required": ["value", "from"],
    },
    result='{"value": 68, "unit": "fahrenheit"}',  # the canned result, kept but never sent
)
TOOLS_TEXT = json.dumps(
    [
        {
            "name": WEATHER.name,
            "description": WEATHER.description,
            "parameters": WEATHER.parameters,
            "strict": True,
        },
        {
            "name": CONVERT.name,
            "description": CONVERT.description,
            "parameters": CONVERT.parameters,
            "result": CONVERT.result,
        },
    ],
    indent=4,
)


def _typed() -> dict[str, str]:
    return {
        "name": "Weather tools",
        "description": "",
        "category": "other",
        "tags": "",
        "system": "You answer with tools.",
        "prefix": "",
        "reasoning_prefix": "",
        "speaker_name": "",
        "suffix": "",
        "stop": "",
        "temperature": "",
        "max_tokens": "",
        "top_p": "",
        "tools": _crlf(TOOLS_TEXT),
        "tool_choice": "get_weather",
        "visibility": "private",
        "team": "",
        "turns-0-role": "user",
        "turns-0-content": "Weather in Paris?",
        "turns-0-images": "",
    }


@pytest.mark.django_db
def test_tools_survive_editor_save_export_import_and_the_compare_form(
    alice: User, sim: Sim
) -> None:
    client = Client()
    client.force_login(alice)
    typed = _typed()
    typed["prefix"] = "Let me check. "
    response = client.post("/templates/new/", typed)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = PrefixTemplate.objects.get(owner=alice)
    assert saved.prompt.tools == (WEATHER, CONVERT)
    assert saved.prompt.tool_choice == ToolChoice("function", "get_weather")

    # The template's page lists them, with the forced choice.
    detail = client.get(f"/templates/{saved.code}/").content.decode()
    assert '<code class="tool-name">get_weather</code> <span class="badge">strict</span>' in detail
    assert '<code class="tool-name">convert_units</code>' in detail
    assert "tool choice: <code>get_weather</code> (forced)" in detail

    # Shown again in the editor and saved unchanged: no new revision.
    editor = client.get(f"/templates/{saved.code}/edit/").content.decode()
    again = _form_fields(editor, "editor-form")
    assert json.loads(again["tools"]) == json.loads(TOOLS_TEXT)
    assert again["tool_choice"] == "get_weather"
    assert client.post(f"/templates/{saved.code}/edit/", again).status_code == 302
    assert saved.revisions.count() == 1
    (revision,) = saved.revisions.all()
    assert Prompt.from_json(revision.content).tools == (WEATHER, CONVERT)

    # Export (version 2) -> import.
    exported = client.get(f"/templates/{saved.code}/export/").content.decode()
    document = json.loads(exported)
    assert document["version"] == 2
    assert document["templates"][0]["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert [tool["name"] for tool in document["templates"][0]["tools"]] == [
        "get_weather",
        "convert_units",
    ]
    assert "result" not in document["templates"][0]["tools"][0]
    assert document["templates"][0]["tools"][1]["result"] == CONVERT.result
    assert client.post("/templates/import/", {"text": exported}).status_code == 302
    imported = PrefixTemplate.objects.filter(owner=alice).exclude(pk=saved.pk).get()
    assert imported.prompt == saved.prompt

    # The compare form shows them, and a run started from it sends them.
    credential = make_sim_credential(alice, sim, "deepseek")
    page = client.get(f"/runs/?template={imported.code}").content.decode()
    posted = _form_fields(page, "compare-form")
    assert json.loads(posted["tools"]) == json.loads(TOOLS_TEXT)
    assert posted["tool_choice"] == "get_weather"
    posted.update({"t0-credential": str(credential.code), "t0-model": "deepseek-chat"})
    posted = {key: value for key, value in posted.items() if not key.startswith("t1-")}
    # On DeepSeek, this template cannot run as it is: its prefix rules out the forced choice,
    # and the strict get_weather leaves "unit" out of "required". The form says so (422).
    refused = client.post("/runs/new/", posted)
    assert refused.status_code == 422
    assert "cannot be combined with a tool_choice that forces a call" in refused.content.decode()
    posted["prefix"] = ""
    refused = client.post("/runs/new/", posted)
    assert refused.status_code == 422
    assert (
        "The tool &#x27;get_weather&#x27; cannot use strict mode on DeepSeek: every property "
        "must be required in strict mode; the parameters does not require unit"
    ) in refused.content.decode()
    # Mistral has no strict mode (the flag is dropped, with a note): the run starts.
    mistral = make_sim_credential(alice, sim, "mistral")
    posted.update({"t0-credential": str(mistral.code), "t0-model": "mistral-small-latest"})
    started = client.post("/runs/new/", posted)
    assert started.status_code == 302, started.content.decode()[:3000]
    run = Run.objects.get(user=alice)
    assert run.prompt.tools == (WEATHER, CONVERT)
    assert run.prompt.tool_choice == ToolChoice("function", "get_weather")
    column = run.columns.get()
    request = completion_request(run, column, column.segments.get())
    assert request.tools == (WEATHER, CONVERT)
    assert request.tool_choice == ToolChoice("function", "get_weather")
    # The canned result stays in the playground: no dialect sends it.
    mistral = make_sim_credential(alice, sim, "mistral").target()
    prepared = prepare(mistral, replace(request, prefix=""))
    assert "result" not in json.dumps(prepared.body["tools"])


@pytest.mark.django_db
def test_a_version_1_file_imports_without_tools_and_may_not_hold_them(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    template = {"name": "Old", "prefix": "Once "}
    old = {"schema": schema.SCHEMA, "version": 1, "templates": [template]}
    assert client.post("/templates/import/", {"text": json.dumps(old)}).status_code == 302
    assert PrefixTemplate.objects.get(owner=alice).prompt.tools == ()

    template["tools"] = [{"name": "x"}]
    response = client.post("/templates/import/", {"text": json.dumps(old)})
    problems = [str(problem) for problem in response.context["problems"]]
    assert problems == [
        "templates[0].tools: needs version 2 of the format (version 1 has no tools)"
    ]
