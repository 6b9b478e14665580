"""The compare form refuses, before anything is sent, what a prompt's tools cannot do on a target.

DeepSeek strict schemas are checked with `strict_problem` (the message names the tool and the
offending field); a prefix with a forced tool choice, a model without function calling and a
provider whose catalog entry says `tools_with_prefix: false` are refused with their reason. The
form answers 422 with everything typed kept, and no run is saved. Refusals that have nothing
to do with the tools still reach the column, as before.
"""

from __future__ import annotations

import dataclasses
import html
import json
from typing import Any

import pytest
from django.test import Client

from playground.accounts.models import User
from playground.providers import registry
from playground.providers.catalog import get_provider
from playground.runs.models import Run
from playground.runs.streaming import completion_request
from tests.runs.conftest import Sim, make_sim_credential
from tests.runs.test_prompt_round_trip import _form_fields

CLOSED = {"type": "object", "additionalProperties": False}
TRIP = {
    "name": "plan_trip",
    "description": "Plan a trip through several cities",
    "parameters": {
        **CLOSED,
        "properties": {
            "stops": {
                "type": "array",
                "items": {
                    **CLOSED,
                    "properties": {"city": {"type": "string", "minLength": 2}},
                    "required": ["city"],
                },
            }
        },
        "required": ["stops"],
    },
    "strict": True,
}
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        **CLOSED,
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
    "strict": True,
}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(
    client: Client,
    credential: Any,
    model: str,
    tools: list[dict[str, Any]],
    *,
    prefix: str = "",
    choice: str = "auto",
) -> Any:
    fields = _form_fields(client.get("/runs/").content.decode(), "compare-form")
    fields = {key: value for key, value in fields.items() if not key.startswith("t1-")}
    fields.update(
        {
            "turns-0-role": "user",
            "turns-0-content": "What's the weather in Paris?",
            "prefix": prefix,
            "tools": json.dumps(tools, indent=2),
            "tool_choice": choice,
            "t0-credential": str(credential.code),
            "t0-model": model,
        }
    )
    return client.post("/runs/new/", fields)


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.django_db
def test_a_strict_schema_deepseek_refuses_is_named_in_the_form(alice: User, sim: Sim) -> None:
    client = _client(alice)
    deepseek = make_sim_credential(alice, sim, "deepseek")
    response = _post(client, deepseek, "deepseek-chat", [WEATHER, TRIP])
    assert response.status_code == 422
    page = _page(response)
    assert (
        "Target 1 (deepseek-chat): The tool 'plan_trip' cannot use strict mode on DeepSeek: "
        "stops[].city uses minLength, which strict mode does not support." in page
    )
    # Everything typed is still there, and nothing was saved.
    kept = _form_fields(response.content.decode(), "compare-form")
    assert json.loads(kept["tools"]) == [WEATHER, TRIP]
    assert kept["turns-0-content"] == "What's the weather in Paris?"
    assert not Run.objects.exists()

    # Strict mode goes to /beta, where DeepSeek has it: the closed, fully required schema runs.
    response = _post(client, deepseek, "deepseek-chat", [WEATHER])
    assert response.status_code == 302
    column = Run.objects.get().columns.get()
    call = registry.prepare(
        deepseek.target(), completion_request(column.run, column, column.segments.get())
    )
    assert call.url.endswith("/beta/chat/completions")
    assert call.body["tools"][0]["function"]["strict"] is True


@pytest.mark.django_db
def test_the_strict_flag_elsewhere_is_dropped_not_refused(alice: User, sim: Sim) -> None:
    # Mistral has no strict mode: the flag is left out with a note, and the run starts.
    mistral = make_sim_credential(alice, sim, "mistral")
    response = _post(_client(alice), mistral, "mistral-small-latest", [TRIP])
    assert response.status_code == 302
    assert Run.objects.count() == 1


@pytest.mark.django_db
def test_a_prefix_with_a_forced_call_is_refused_with_the_reason(alice: User, sim: Sim) -> None:
    client = _client(alice)
    anthropic = make_sim_credential(alice, sim, "anthropic")
    response = _post(
        client, anthropic, "claude-haiku-4-5", [WEATHER], prefix="Let me see. ", choice="required"
    )
    assert response.status_code == 422
    assert "A prefix commits the reply to text, so it cannot be combined with a tool_choice" in (
        _page(response)
    )
    assert not Run.objects.exists()
    # With auto, the prefix and the tools go together.
    response = _post(client, anthropic, "claude-haiku-4-5", [WEATHER], prefix="Let me see. ")
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_provider_without_prefix_and_tools_together_is_refused_from_the_catalog(
    alice: User, sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = "This provider drops the prefix when tools are offered."
    real = get_provider("dashscope")
    changed = dataclasses.replace(real, tools_with_prefix=False, tools_with_prefix_reason=reason)
    monkeypatch.setattr(
        registry, "get_provider", lambda pid: changed if pid == "dashscope" else get_provider(pid)
    )
    client = _client(alice)
    dashscope = make_sim_credential(alice, sim, "dashscope")
    response = _post(client, dashscope, "qwen-plus", [WEATHER], prefix="Sure: ")
    assert response.status_code == 422
    assert f"Target 1 (qwen-plus): {reason}" in _page(response)
    # Without the prefix, the tools are sent.
    assert _post(client, dashscope, "qwen-plus", [WEATHER]).status_code == 302


@pytest.mark.django_db
def test_a_model_without_function_calling_is_refused_in_the_form(alice: User, sim: Sim) -> None:
    coreshub = make_sim_credential(alice, sim, "coreshub")
    response = _post(_client(alice), coreshub, "DeepSeek-R1", [WEATHER])
    assert response.status_code == 422
    assert "DeepSeek-R1 does not support function calling." in _page(response)


@pytest.mark.django_db
def test_a_refusal_the_tools_do_not_cause_still_reaches_the_column(alice: User, sim: Sim) -> None:
    # OpenAI cannot continue a prefix, tools or not: the run starts and that column says why.
    openai = make_sim_credential(alice, sim, "openai")
    response = _post(_client(alice), openai, "gpt-4o-mini", [WEATHER], prefix="Sure: ")
    assert response.status_code == 302
    assert Run.objects.count() == 1
