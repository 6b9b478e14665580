"""The compare form refuses oversize prompts before building them, naming the limit."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
from django.test import Client

from playground.prompts.budget import Budget, from_settings
from playground.prompts.variables import Variable, render, rendered_size
from playground.providers.base import Turn
from playground.providers.prompt import Prompt
from playground.runs.models import Run
from tests.keys.factories import make_credential
from tests.prompts.factories import make_template

HX = {"HX-Request": "true"}


def _prompt(**fields: Any) -> Prompt:
    return Prompt(**fields)


def _texts_length(prompt: Prompt) -> int:
    turns = sum(len(t.content) + sum(len(u) for u in t.images) for t in prompt.turns)
    return (
        len(prompt.system)
        + turns
        + len(prompt.prefix)
        + len(prompt.reasoning_prefix)
        + len(prompt.suffix or "")
        + sum(len(s) for s in prompt.stop)
    )


@pytest.mark.parametrize(
    ("prompt", "values", "known"),
    [
        (_prompt(prefix="{{a}} and {{ b }} and {{a}}"), {"a": "xyz", "b": ""}, []),
        (_prompt(prefix="{{a}}{{c}}", stop=("{{a}}",)), {}, [Variable("a", "default!")]),
        (
            _prompt(system="{{s}}", turns=(Turn("user", "{{s}}{{1+1}}{{}}"),), suffix="{{s}}"),
            {"s": "ü" * 7},
            [],
        ),
    ],
)
def test_rendered_size_equals_the_length_of_the_rendered_prompt(
    prompt: Prompt, values: dict[str, str], known: list[Variable]
) -> None:
    everything = {**{v.name: v.default or "" for v in known}, **values}
    everything = {k: v for k, v in everything.items() if v} | {"c": "C", "b": "B"}
    size = rendered_size(prompt, known, everything)
    assert size == _texts_length(render(prompt, known, everything))


def test_rendered_size_of_the_variable_bomb_is_computed_without_building_it() -> None:
    prompt = _prompt(prefix="{{x}}" * 10_000)
    tracemalloc.start()
    try:
        size = rendered_size(prompt, [], {"x": "y" * 10_000})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == 100_000_000
    assert peak < 5_000_000  # the rendered prompt would be 100 MB


def test_the_budget_defaults_are_the_settings_defaults(settings: Any) -> None:
    assert from_settings(settings) == Budget()


@pytest.fixture
def credential(alice: Any) -> Any:
    return make_credential(alice, base_url="http://127.0.0.1:9/v1")


def _post(client: Client, credential: Any, **fields: str) -> str:
    data = {"t0-credential": str(credential.code), "t0-model": "deepseek-chat", **fields}
    before = Run.objects.count()
    response = client.post("/runs/new/", data, headers=HX)
    # A started run answers 200 with its columns; a refused form 422 with its messages.
    assert response.status_code == (200 if Run.objects.count() > before else 422)
    return response.content.decode()


@pytest.mark.django_db
def test_it_refuses_the_variable_bomb_naming_the_limit(
    alice_client: Client, credential: Any
) -> None:
    prefix = "{{x}}" * 10_000
    body = _post(alice_client, credential, prefix=prefix, **{"var-x": "y" * 10_000})
    assert "100,000,000 characters" in body
    assert "the limit is 200,000 (MAX_PROMPT_CHARS)" in body
    assert prefix in body  # the form keeps what was typed
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_public_template_whose_default_is_the_bomb(
    alice_client: Client, credential: Any, charlie: Any
) -> None:
    # Saved directly (the editor refuses it too): a template predating the limit.
    template = make_template(
        charlie,
        prefix="{{x}}" * 1_000,
        turns=[],
        stop=[],
        variable_notes=[{"name": "x", "default": "z" * 1_000, "description": ""}],
        visibility="public",
    )
    body = _post(alice_client, credential, template=str(template.code), prefix="{{x}}" * 1_000)
    assert "MAX_PROMPT_CHARS" in body and "1,000,000 characters" in body
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_it_accepts_a_prompt_at_the_limit(
    alice_client: Client, credential: Any, settings: Any
) -> None:
    settings.MAX_PROMPT_CHARS = 1_000
    _post(alice_client, credential, prefix="{{x}}" * 10, **{"var-x": "y" * 100})
    assert Run.objects.get().prefix == "y" * 1_000
    Run.objects.all().delete()
    body = _post(alice_client, credential, prefix="{{x}}" * 10 + "!", **{"var-x": "y" * 100})
    assert "1,001 characters; the limit is 1,000 (MAX_PROMPT_CHARS)" in body


@pytest.mark.django_db
def test_it_keeps_only_the_variables_the_prompt_uses(alice_client: Client, credential: Any) -> None:
    _post(alice_client, credential, prefix="{{a}}", **{"var-a": "1", "var-unused": "x" * 5000})
    assert Run.objects.get().variables == {"a": "1"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"stop": "s\n" * 10_000},
            "At most 16 stop sequences (MAX_STOP_SEQUENCES); this has 10,000",
        ),
        ({"t0-stop": "s\n" * 17}, "At most 16 stop sequences (MAX_STOP_SEQUENCES); this has 17"),
        ({"stop": "s" * 201}, "at most 200 characters (MAX_STOP_CHARS)"),
        ({"prefix": "p" * 100_001}, "100,001 characters; the limit is 100,000 (MAX_TEXT_CHARS)"),
        (
            {"turns-0-role": "user", "turns-0-content": "c" * 100_001},
            "the limit is 100,000 (MAX_TEXT_CHARS)",
        ),
        ({"prefix": "{{v}}", "var-v": "v" * 100_001}, "The value of v: This text is 100,001"),
        ({"turns-0-role": "user", "turns-0-images": "upload:not-a-uuid"}, "Not an uploaded image"),
        ({"turns-0-role": "user", "turns-0-images": "https://x.example/a.png\n" * 9}, "at most 8"),
    ],
)
def test_it_refuses_oversize_inputs_naming_the_limit(
    alice_client: Client, credential: Any, fields: dict[str, str], message: str
) -> None:
    body = _post(alice_client, credential, **{"prefix": "Hello", **fields})
    assert message in body
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_it_refuses_too_many_turns(alice_client: Client, credential: Any, settings: Any) -> None:
    settings.MAX_TURNS = 3
    turns = {f"turns-{i}-role": "user" for i in range(4)} | {
        f"turns-{i}-content": "hi" for i in range(4)
    }
    body = _post(alice_client, credential, prefix="x", **turns)
    assert "at most 3 turns (MAX_TURNS)" in body
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_it_holds_a_provider_to_its_own_stop_limit(
    alice_client: Client, credential: Any, settings: Any
) -> None:
    settings.MAX_STOP_SEQUENCES = 40
    body = _post(alice_client, credential, prefix="x", stop="s\n" * 20)
    assert "DeepSeek takes at most 16 stop sequences; this run has 20" in body
    assert not Run.objects.exists()
