"""Sharing a run with a team: who may share it, who may open it, what a member sees there, and
what happens when a member leaves (docs/verdicts.md)."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Team, User
from playground.prompts.models import PrefixTemplate
from playground.runs.models import ImageUpload, Run, SharingRefused
from tests.runs.team_runs import HTMX, client_for, finished_run

# ----- who may share -----


def test_the_owner_shares_with_a_team_of_theirs_and_makes_it_private_again(
    alice_client: Client, alice: User, team: Team, team_template: PrefixTemplate
) -> None:
    run = finished_run(alice, team_template)
    url = reverse("runs:share_team", args=[run.code])
    page = alice_client.get(reverse("runs:detail", args=[run.code])).content.decode()
    assert f'<option value="{team.code}" selected>' in page  # the template's team, suggested
    response = alice_client.post(url, {"team": str(team.code), "action": "share"}, **HTMX)
    assert response.status_code == 200
    assert "Shared with <strong>Acme</strong>" in response.content.decode()
    run.refresh_from_db()
    assert run.team == team
    response = alice_client.post(url, {"action": "private"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.team is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not-a-code", "Choose one of your teams."),
        (str(uuid.uuid4()), "only with a team you are a member of"),
        ("other", "only with a team you are a member of"),
    ],
)
def test_a_team_the_owner_is_not_in_is_refused_with_422(
    alice_client: Client, alice: User, charlie: User, value: str, message: str
) -> None:
    run = finished_run(alice, None)
    if value == "other":
        value = str(Team.objects.get(name="Other").code)
    response = alice_client.post(
        reverse("runs:share_team", args=[run.code]), {"team": value, "action": "share"}, **HTMX
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    run.refresh_from_db()
    assert run.team is None


@pytest.mark.parametrize("who", ["bob", "victor", "charlie"])
def test_only_the_owner_may_share_a_run(
    shared: Run, team: Team, bob: User, victor: User, charlie: User, who: str
) -> None:
    user = {"bob": bob, "victor": victor, "charlie": charlie}[who]
    url = reverse("runs:share_team", args=[shared.code])
    assert client_for(user).post(url, {"action": "private"}).status_code == 404
    shared.refresh_from_db()
    assert shared.team == team
    with pytest.raises(SharingRefused):
        shared.share_with(user, None)


# ----- who may open -----

READ_PAGES = ["detail", "diff", "inspect", "code", "rendered", "txt", "json"]


def _read_url(run: Run, page: str) -> str:
    if page in ("detail", "diff"):
        return reverse(f"runs:{page}", args=[run.code])
    if page in ("txt", "json"):
        return reverse("runs:download", args=[run.code, 0, page])
    return reverse(f"runs:{page}", args=[run.code, 0])


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize(
    ("who", "shared_status", "private_status"),
    [("alice", 200, 200), ("bob", 200, 404), ("victor", 200, 404), ("charlie", 404, 404)],
)
def test_members_open_a_shared_run_read_only_and_nobody_else_does(
    alice: User,
    bob: User,
    victor: User,
    charlie: User,
    team: Team,
    page: str,
    who: str,
    shared_status: int,
    private_status: int,
) -> None:
    client = client_for({"alice": alice, "bob": bob, "victor": victor, "charlie": charlie}[who])
    shared_run = finished_run(alice, None, team=team)
    private_run = finished_run(alice, None)
    assert client.get(_read_url(shared_run, page)).status_code == shared_status
    assert client.get(_read_url(private_run, page)).status_code == private_status


def test_a_member_sees_no_owner_controls_and_cannot_use_them(
    shared: Run, victor_client: Client
) -> None:
    page = victor_client.get(reverse("runs:detail", args=[shared.code])).content.decode()
    assert "Shared with you" in page and "by alice with Acme" in page
    for control in ("Re-run", "Edit in Compare", "Create share link", "Use as prefix", "Retry"):
        assert control not in page
    assert "of alice" not in page  # the owner's key labels stay the owner's
    assert "Inspect" in page and "View code" in page
    code = shared.code
    for url in [
        reverse("runs:rerun", args=[code]),
        reverse("runs:stop", args=[code]),
        reverse("runs:stop_column", args=[code, 0]),
        reverse("runs:continue", args=[code, 0]),
        reverse("runs:retry", args=[code, 0, 0]),
        reverse("runs:share", args=[code]),
    ]:
        assert victor_client.post(url).status_code == 404, url
    assert victor_client.get(reverse("runs:stream", args=[code])).status_code == 404
    assert Run.objects.count() == 1


def test_a_members_view_code_shows_the_key_variable_not_the_key(
    shared: Run, victor_client: Client
) -> None:
    body = victor_client.get(reverse("runs:code", args=[shared.code, 0])).content.decode()
    assert "$DEEPSEEK_API_KEY" in body
    assert "THISISASECRETKEY" not in body


# ----- a member who leaves -----


def test_a_removed_member_loses_access_at_once_and_takes_their_shared_runs_along(
    shared: Run, team: Team, alice: User, bob: User, victor: User, team_template: PrefixTemplate
) -> None:
    victors = finished_run(victor, team_template, team=team)
    bob_client, victor_client = client_for(bob), client_for(victor)
    assert bob_client.get(reverse("runs:detail", args=[victors.code])).status_code == 200
    team.remove_member(team.memberships.get(user=victor))
    assert victor_client.get(reverse("runs:detail", args=[shared.code])).status_code == 404
    assert bob_client.get(reverse("runs:detail", args=[victors.code])).status_code == 404
    victors.refresh_from_db()
    shared.refresh_from_db()
    assert victors.team is None  # private again: the run was shared with a team they left
    assert shared.team == team  # others' runs stay shared


def test_junk_codes_answer_404_not_500(alice_client: Client) -> None:
    code = uuid.uuid4()
    assert alice_client.post(reverse("runs:share_team", args=[code])).status_code == 404
    assert alice_client.post(reverse("runs:pin", args=[code, 0])).status_code == 404
    assert alice_client.get(f"/runs/{code}x/team/").status_code == 404
    learned = reverse("runs:template_learned", args=[code])
    assert alice_client.get(learned).status_code == 404
    assert alice_client.post(reverse("runs:unpin", args=[code])).status_code == 404


def test_the_history_marks_the_owners_runs_shared_with_a_team(
    alice_client: Client, alice: User, team: Team
) -> None:
    finished_run(alice, None, team=team)
    body = alice_client.get(reverse("runs:history")).content.decode()
    assert '<span class="badge" title="Shared with this team">Acme</span>' in body


def test_members_see_the_images_of_a_shared_run_and_no_other(
    alice: User, team: Team, victor_client: Client, charlie_client: Client
) -> None:
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
        b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01"
        b"\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    shown, other = (
        ImageUpload.objects.store(alice, SimpleUploadedFile(f"{name}.png", png, "image/png"))
        for name in ("shown", "other")
    )
    run = finished_run(alice, None, team=team)
    run.turns = [{"role": "user", "content": "What is this?", "images": [shown.reference]}]
    run.save(update_fields=["turns"])
    assert victor_client.get(reverse("runs:image", args=[shown.code])).status_code == 200
    assert victor_client.get(reverse("runs:image", args=[other.code])).status_code == 404
    assert charlie_client.get(reverse("runs:image", args=[shown.code])).status_code == 404
    run.share_with(alice, None)
    assert victor_client.get(reverse("runs:image", args=[shown.code])).status_code == 404
