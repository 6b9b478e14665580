"""The batch pages: access follows the template's rules, and bad input is reported, not a 500."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from playground.accounts.models import Team, User
from playground.batches.models import Batch, InputSet
from playground.prompts.models import Visibility
from tests.keys.factories import make_credential
from tests.prompts.factories import make_template


def _team_template(alice: User, team: Team):  # type: ignore[no-untyped-def]
    return make_template(alice, visibility=Visibility.TEAM, team=team)


def test_team_members_see_and_run_editors_edit_outsiders_get_404(
    alice: User,
    team: Team,
    alice_client: Client,
    bob_client: Client,
    victor_client: Client,
    charlie_client: Client,
) -> None:
    template = _team_template(alice, team)
    url = reverse("batches:template", args=[template.code])
    created = bob_client.post(url, {"name": "Items", "table": "items\napples\npears\n"})
    assert created.status_code == 302  # an editor adds input sets
    input_set = InputSet.objects.get()
    assert input_set.rows == [["apples"], ["pears"]]
    page = reverse("batches:input_set", args=[input_set.code])
    assert victor_client.get(page).status_code == 200  # a viewer sees and may run it
    assert victor_client.post(url, {"name": "X", "table": "items\na\n"}).status_code == 404
    edit = reverse("batches:edit_input_set", args=[input_set.code])
    assert victor_client.get(edit).status_code == 404
    assert charlie_client.get(page).status_code == 404
    assert charlie_client.get(url).status_code == 404


def test_bad_tables_and_missing_columns_are_reported_and_keep_what_was_typed(
    alice: User, alice_client: Client
) -> None:
    template = make_template(alice)
    url = reverse("batches:template", args=[template.code])
    answer = alice_client.post(url, {"name": "Bad", "table": "items,items\n1,2\n"})
    assert answer.status_code == 200
    assert "appears twice" in answer.content.decode()
    assert "items,items" in answer.content.decode()
    alice_client.post(url, {"name": "Other", "table": "colour\nred\n"})
    input_set = InputSet.objects.get(name="Other")
    page = alice_client.get(reverse("batches:input_set", args=[input_set.code])).content.decode()
    assert "Missing columns" in page and "Unknown columns" in page
    credential = make_credential(alice)
    started = alice_client.post(
        reverse("batches:input_set", args=[input_set.code]),
        {"t0-credential": str(credential.code), "t0-model": "deepseek-chat"},
    )
    assert started.status_code == 200
    assert "has no column for items" in started.content.decode()
    assert not Batch.objects.exists()


def test_a_batch_needs_a_target_and_a_valid_check(alice: User, alice_client: Client) -> None:
    template = make_template(alice)
    input_set = InputSet(template=template, name="S", columns=["items"], rows=[["a"]])
    input_set.save(author=alice)
    url = reverse("batches:input_set", args=[input_set.code])
    answer = alice_client.post(url, {"c0-kind": "regex", "c0-value": "(a)\\1"}).content.decode()
    assert "RE2" in answer
    answer = alice_client.post(url, {}).content.decode()
    assert "Choose at least one target" in answer
    assert not Batch.objects.exists()


def test_a_batch_is_refused_before_sending_what_its_tools_cannot_do(
    alice: User, alice_client: Client
) -> None:
    closed = {"type": "object", "additionalProperties": False}
    trip = {
        "name": "plan_trip",
        "description": "Plan a trip",
        "parameters": {
            **closed,
            "properties": {"city": {"type": "string", "maxLength": 40}},
            "required": ["city"],
        },
        "strict": True,
    }
    template = make_template(alice, prefix="", tools=[trip])
    input_set = InputSet(template=template, name="S", columns=["items"], rows=[["a"]])
    input_set.save(author=alice)
    credential = make_credential(alice)  # DeepSeek
    answer = alice_client.post(
        reverse("batches:input_set", args=[input_set.code]),
        {"t0-credential": str(credential.code), "t0-model": "deepseek-chat"},
    ).content.decode()
    assert (
        "Target 1 (deepseek-chat): The tool &#x27;plan_trip&#x27; cannot use strict mode on "
        "DeepSeek: city uses maxLength, which strict mode does not support." in answer
    )
    assert not Batch.objects.exists()
