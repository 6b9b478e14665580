"""The compare page: its first state, starting a run, validation, the cap, rows, variables."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from playground.prompts.models import PrefixTemplate, Visibility
from playground.runs.models import Run, RunStatus, Segment
from tests.keys.factories import make_credential

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def _post(client: Client, credential: Any, **fields: str) -> Any:
    data = {
        "system": "",
        "prefix": "```python\n",
        "stop": "```",
        "turns-0-role": "user",
        "turns-0-content": "Write a quick sort.",
        "t0-credential": str(credential.code),
        "t0-model": "deepseek-chat",
        **fields,
    }
    return client.post("/runs/new/", data, headers=HX)


def test_it_starts_a_run_and_returns_the_columns_fragment(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice)
    response = _post(
        alice_client,
        credential,
        **{"t1-credential": str(credential.code), "t1-model": "deepseek-reasoner"},
    )
    assert response.status_code == 200
    run = Run.objects.get()
    body = response.content.decode()
    # The stream URL carries the page's stream token (playground/runs/stream_tokens.py).
    assert f'sse-connect="/runs/{run.code}/stream/?t=' in body
    assert 'sse-close="run-done"' in body
    assert body.count('class="column"') == 2
    assert run.prefix == "```python\n"
    assert run.stop == ["```"]
    assert run.turns == [{"role": "user", "content": "Write a quick sort.", "images": []}]
    assert [c.model for c in run.columns.order_by("position")] == [
        "deepseek-chat",
        "deepseek-reasoner",
    ]
    assert Segment.objects.filter(column__run=run, status="pending").count() == 2


def test_it_keeps_the_prefix_whitespace_exactly(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice)
    _post(alice_client, credential, prefix="Dear team, \r\n\r\n  ")
    assert Run.objects.get().prefix == "Dear team, \n\n  "


def test_it_reads_stop_sequences_with_escapes(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice)
    _post(alice_client, credential, stop="\\n\\n\n###")
    assert Run.objects.get().stop == ["\n\n", "###"]


def test_it_renders_template_variables_into_the_run(alice_client: Client, alice: Any) -> None:
    template = PrefixTemplate(
        name="Greeting",
        owner=alice,
        visibility=Visibility.PRIVATE,
        prefix="Dear {{name}},",
        turns=[{"role": "user", "content": "Write to {{name}} about {{topic}}.", "images": []}],
        variable_notes=[{"name": "topic", "default": "the launch", "description": ""}],
    )
    template.save()
    credential = make_credential(alice)
    response = _post(
        alice_client,
        credential,
        template=str(template.code),
        prefix="Dear {{name}},",
        **{"turns-0-content": "Write to {{name}} about {{topic}}.", "var-name": "Ada"},
    )
    assert response.status_code == 200
    run = Run.objects.get()
    assert run.prefix == "Dear Ada,"
    assert run.turns[0]["content"] == "Write to Ada about the launch."
    assert run.template == template
    assert run.variables == {"name": "Ada"}


def test_it_names_missing_variables_and_keeps_the_form(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice)
    response = _post(alice_client, credential, prefix="Hello {{who}}, I typed this")
    assert response.status_code == 422
    body = response.content.decode()
    assert "Fill in the variables without a default: who." in body
    assert "Hello {{who}}, I typed this" in body
    assert response["HX-Retarget"] == "#compare-form"
    assert not Run.objects.exists()


def test_it_refuses_an_empty_prompt_or_no_targets(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice)
    response = _post(alice_client, credential, prefix="", **{"turns-0-content": ""})
    assert "Write a prefix or at least one message" in response.content.decode()
    response = alice_client.post("/runs/new/", {"prefix": "Hi"}, headers=HX)
    assert "Add at least one target" in response.content.decode()
    assert not Run.objects.exists()


def test_it_refuses_someone_elses_key(alice_client: Client, charlie: Any) -> None:
    foreign = make_credential(charlie)
    response = _post(alice_client, foreign)
    assert "Select a valid choice" in response.content.decode()
    assert not Run.objects.exists()


def test_it_caps_a_users_concurrent_runs(alice_client: Client, alice: Any, settings: Any) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 2
    credential = make_credential(alice)
    _post(alice_client, credential)
    _post(alice_client, credential)
    response = _post(alice_client, credential, prefix="third")
    body = response.content.decode()
    assert "You already have 2 runs streaming" in body
    assert "third" in body
    assert Run.objects.count() == 2
    Run.objects.update(status=RunStatus.DONE)
    _post(alice_client, credential)
    assert Run.objects.count() == 3


def test_it_remembers_the_targets_of_the_last_run(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice, label="Mine")
    _post(alice_client, credential, **{"t0-model": "deepseek-reasoner", "t0-temperature": "0.3"})
    body = alice_client.get("/runs/").content.decode()
    assert 'value="deepseek-reasoner"' in body
    option = re.search(rf'<option value="{credential.code}"[^>]*>', body)
    assert option is not None and "selected" in option.group(0)
    assert 'name="t0-temperature" value="0.3"' in body


def test_it_starts_from_a_visible_template_only(alice_client: Client, charlie: Any) -> None:
    private = PrefixTemplate(name="Secret opener", owner=charlie, prefix="SECRET-PREFIX")
    private.save()
    body = alice_client.get(f"/runs/?template={private.code}").content.decode()
    assert "SECRET-PREFIX" not in body


def test_it_adds_rows_and_detects_variables(alice_client: Client, alice: Any) -> None:
    turn = alice_client.get("/runs/rows/turn/?index=3&after=user", headers=HX).content.decode()
    assert 'name="turns-3-content"' in turn
    assert '<option value="assistant" selected>' in turn
    target = alice_client.get("/runs/rows/target/?index=2", headers=HX).content.decode()
    assert 'name="t2-model"' in target
    found = alice_client.post(
        "/runs/variables/",
        {"prefix": "Dear {{ name }},", "turns-0-content": "{{topic}}", "var-name": "Ada"},
    ).content.decode()
    # Variables are textareas (multi-line values); the value typed so far is kept.
    assert re.search(r'<textarea[^>]*name="var-name"[^>]*>\nAda</textarea>', found)
    assert 'name="var-topic"' in found


def test_it_needs_a_login(client: Client) -> None:
    for url in ("/runs/", "/runs/history/", "/runs/rows/turn/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_it_takes_per_target_overrides(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice)
    _post(
        alice_client,
        credential,
        **{
            "t0-temperature": "0",
            "t0-max_tokens": "64",
            "t0-stop": "\\n\\n\nEND",
            "t0-thinking": "off",
            "t0-json_mode": "on",
        },
    )
    column = Run.objects.get().columns.get()
    assert column.overrides == {
        "temperature": 0.0,
        "max_tokens": 64,
        "stop": ["\n\n", "END"],
        "thinking": "off",
        "json_mode": True,
    }
    page = alice_client.get("/runs/").content.decode()
    assert (
        # The value starts on the line after the tag, where a browser keeps a leading newline.
        'name="t0-stop" rows="1" spellcheck="false" placeholder="as the prompt">\n\\n\\n\nEND<'
        in page
    )
    assert 'name="t0-json_mode" value="on" checked' in page


def test_a_return_visit_restores_the_prompt_and_shows_the_overrides(
    alice_client: Client, alice: Any
) -> None:
    credential = make_credential(alice)
    _post(
        alice_client,
        credential,
        prefix="Dear team, \n",
        **{"t0-json_mode": "on", "t0-temperature": "0.2", "t0-stop": "END"},
    )
    body = alice_client.get("/runs/").content.decode()
    assert "Restored from your last run" in body
    assert ">\nDear team, \n</textarea>" in body  # the prompt came back, whitespace and all
    assert 'name="t0-json_mode" value="on" checked' in body
    chips = re.findall(r'<span class="chip" data-override="(\w+)">([^<]+)<', body)
    assert chips == [("temperature", "temp 0.2"), ("stop", "1 stop"), ("json_mode", "JSON mode")]
    assert "1 target carries over its overrides" in body
    assert "data-clear-all-overrides" in body


def test_start_blank_keeps_the_targets_but_not_the_prompt_or_overrides(
    alice_client: Client, alice: Any
) -> None:
    credential = make_credential(alice)
    _post(alice_client, credential, prefix="Remember me", **{"t0-json_mode": "on"})
    body = alice_client.get("/runs/?blank=1").content.decode()
    assert "Remember me" not in body
    assert "Restored from your last run" not in body
    assert 'name="t0-json_mode" value="on" checked' not in body
    assert 'data-override="json_mode"' not in body
    option = re.search(rf'<option value="{credential.code}"[^>]*>', body)
    assert option is not None and "selected" in option.group(0)


def test_a_multi_line_variable_keeps_its_lines_and_shows_its_default_whole(
    alice_client: Client, alice: Any
) -> None:
    template = PrefixTemplate(
        name="Schema",
        owner=alice,
        prefix="{{schema}}\nSELECT",
        variable_notes=[{"name": "schema", "default": "CREATE TABLE a (\n  id int\n);"}],
    )
    template.save()
    page = alice_client.get(f"/runs/?template={template.code}").content.decode()
    field = re.search(r'<textarea class="variable-input"[^>]*>', page)
    assert field is not None
    assert 'rows="3"' in field.group(0)
    assert 'placeholder="CREATE TABLE a (\n  id int\n);"' in field.group(0)
    credential = make_credential(alice)
    _post(
        alice_client,
        credential,
        template=str(template.code),
        prefix="{{schema}}\nSELECT",
        **{"var-schema": "CREATE TABLE b (\n  x int\n);"},
    )
    assert Run.objects.get().prefix == "CREATE TABLE b (\n  x int\n);\nSELECT"
