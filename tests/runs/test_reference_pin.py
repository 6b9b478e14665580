"""Pinning a run's column as its template's reference continuation: who may, and what the
template's page then shows (docs/verdicts.md)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Team, User
from playground.prompts.models import PrefixTemplate
from playground.runs.models import Run, Segment, SegmentStatus
from playground.runs.verdicts import ReferencePin
from tests.runs.team_runs import HTMX, client_for, finished_run, judge


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 200), ("bob", 200), ("victor", 422), ("charlie", 404)],
    ids=["owner", "editor", "viewer", "outsider"],
)
def test_those_who_may_edit_the_template_pin_a_column_they_can_open(
    shared: Run, alice: User, bob: User, victor: User, charlie: User, who: str, status: int
) -> None:
    client = client_for({"alice": alice, "bob": bob, "victor": victor, "charlie": charlie}[who])
    page = client.get(reverse("runs:detail", args=[shared.code]))
    assert ("Pin as reference" in page.content.decode()) == (status == 200)
    response = client.post(reverse("runs:pin", args=[shared.code, 1]), **HTMX)
    assert response.status_code == status
    pinned = ReferencePin.objects.filter(template=shared.template).first()
    if status == 200:
        assert pinned is not None and pinned.column.position == 1
        assert "Reference" in response.content.decode()
    else:
        assert pinned is None
    if status == 422:
        assert "Only those who may edit the template" in response.content.decode()


def test_the_template_page_shows_the_pin_with_its_run_and_an_editor_unpins_it(
    shared: Run, alice_client: Client, bob_client: Client, victor_client: Client
) -> None:
    template = shared.template
    assert template is not None
    response = alice_client.post(reverse("runs:pin", args=[shared.code, 1]))
    assert response.status_code == 302 and response["Location"] == template.get_absolute_url()
    learned = reverse("runs:template_learned", args=[template.code])
    for client in (alice_client, victor_client):
        body = client.get(learned, **HTMX).content.decode()
        assert "def sort_1(items): ..." in body
        assert reverse("runs:detail", args=[shared.code]) in body
        assert "deepseek-reasoner" in body and "pinned by alice" in body
    assert "Unpin" not in victor_client.get(learned, **HTMX).content.decode()
    assert victor_client.post(reverse("runs:unpin", args=[template.code])).status_code == 403
    assert ReferencePin.objects.filter(template=template).exists()
    body = bob_client.post(reverse("runs:unpin", args=[template.code]), **HTMX).content.decode()
    assert "None pinned" in body
    assert not ReferencePin.objects.filter(template=template).exists()


def test_the_template_page_loads_the_fragment_by_url(shared: Run, victor_client: Client) -> None:
    template = shared.template
    assert template is not None
    page = victor_client.get(template.get_absolute_url()).content.decode()
    assert f'hx-get="{reverse("runs:template_learned", args=[template.code])}"' in page
    full = victor_client.get(reverse("runs:template_learned", args=[template.code]))
    assert full.status_code == 200 and "<html" in full.content.decode()


def test_a_pin_of_a_run_no_longer_shared_is_hidden_from_members(
    shared: Run, alice: User, alice_client: Client, victor_client: Client
) -> None:
    template = shared.template
    assert template is not None
    alice_client.post(reverse("runs:pin", args=[shared.code, 0]))
    shared.share_with(alice, None)
    learned = reverse("runs:template_learned", args=[template.code])
    assert "def sort_0" not in victor_client.get(learned, **HTMX).content.decode()
    assert "def sort_0" in alice_client.get(learned, **HTMX).content.decode()


@pytest.mark.parametrize("case", ["no template", "blind, not judged", "busy column", "no column"])
def test_a_refused_pin_says_why(
    alice: User, alice_client: Client, team: Team, team_template: PrefixTemplate, case: str
) -> None:
    template = None if case == "no template" else team_template
    run = finished_run(alice, template, team=team, blind=case == "blind, not judged")
    if case == "busy column":
        Segment.objects.filter(column__run=run, column__position=0).update(
            status=SegmentStatus.RUNNING
        )
    position = 9 if case == "no column" else 0
    response = alice_client.post(reverse("runs:pin", args=[run.code, position]), **HTMX)
    expected = {
        "no template": (422, "not made from a template"),
        "blind, not judged": (422, "Give your verdict on this blind run"),
        "busy column": (422, "Only a finished column"),
        "no column": (404, ""),
    }[case]
    assert response.status_code == expected[0]
    assert expected[1] in response.content.decode()
    assert not ReferencePin.objects.exists()


def test_a_blind_run_may_be_pinned_after_the_verdict_and_then_names_its_target(
    alice: User,
    victor: User,
    alice_client: Client,
    victor_client: Client,
    team: Team,
    team_template: PrefixTemplate,
) -> None:
    run = finished_run(alice, team_template, team=team, blind=True)
    judge(run, alice, 1, 0)
    assert alice_client.post(reverse("runs:pin", args=[run.code, 1]), **HTMX).status_code == 200
    learned = reverse("runs:template_learned", args=[team_template.code])
    assert "deepseek-reasoner" in alice_client.get(learned, **HTMX).content.decode()
    body = victor_client.get(learned, **HTMX).content.decode()
    reference = body[body.index('id="reference"') : body.index('id="wins"')]
    assert "A column of a blind run" in reference and "deepseek" not in reference
    judge(run, victor, 0)
    reference = victor_client.get(learned, **HTMX).content.decode().split('id="wins"')[0]
    assert "deepseek-reasoner" in reference
