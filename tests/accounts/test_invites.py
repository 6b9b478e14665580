from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from playground.accounts.models import Invite, Role, Team, TeamRuleError, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _accept_url(token: str) -> str:
    return reverse("accounts:invite_accept", args=[token])


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_creates_a_link_and_stores_only_the_token_hash(alice_client: Client, team: Team) -> None:
    url = reverse("accounts:invite_create", args=[team.code])

    response = alice_client.post(url, {"role": Role.EDITOR})

    invite = Invite.objects.get(team=team)
    body = response.content.decode()
    token = body.split("/accounts/invites/")[1].split("/")[0]
    assert len(token) >= 43
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invite.token_hash
    assert invite.role == Role.EDITOR
    assert response["Cache-Control"].startswith("max-age=0")
    assert abs(invite.expires_at - timezone.now() - timedelta(days=7)) < timedelta(minutes=1)


def test_it_shows_the_link_once_and_updates_the_pending_list_over_htmx(
    alice_client: Client, team: Team
) -> None:
    url = reverse("accounts:invite_create", args=[team.code])

    response = alice_client.post(url, {"role": Role.VIEWER}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert "Invite link created" in body
    assert '<section class="card card-flush" id="invites" hx-swap-oob="true">' in body
    assert "<html" not in body
    detail = alice_client.get(reverse("accounts:team_detail", args=[team.code])).content.decode()
    assert "/accounts/invites/" not in detail
    assert "Revoke" in detail


def test_it_joins_the_team_with_the_invited_role_once(team: Team, alice: User) -> None:
    invite, token = team.create_invite(Role.EDITOR, alice)
    dora, erin = make_user("dora"), make_user("erin")

    response = _client_for(dora).post(_accept_url(token))

    assert response.url == reverse("accounts:team_detail", args=[team.code])
    assert team.memberships.get(user=dora).role == Role.EDITOR
    invite.refresh_from_db()
    assert invite.used_by == dora and invite.used_at is not None
    second = _client_for(erin).post(_accept_url(token))
    assert second.status_code == 200
    assert "already been used" in second.content.decode()
    assert not team.memberships.filter(user=erin).exists()


def test_it_refuses_an_expired_invite(team: Team, alice: User) -> None:
    invite, token = team.create_invite(Role.VIEWER, alice)
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    dora = make_user("dora")
    client = _client_for(dora)

    page = client.get(_accept_url(token))
    response = client.post(_accept_url(token))

    assert "This invite link has expired" in page.content.decode()
    assert "This invite link has expired" in response.content.decode()
    assert not team.memberships.filter(user=dora).exists()


def test_it_stops_a_revoked_invite_from_working(
    alice_client: Client, team: Team, alice: User
) -> None:
    invite, token = team.create_invite(Role.VIEWER, alice)

    alice_client.post(reverse("accounts:invite_revoke", args=[team.code, invite.pk]))

    dora = make_user("dora")
    response = _client_for(dora).post(_accept_url(token))
    assert "revoked" in response.content.decode()
    assert not team.memberships.filter(user=dora).exists()
    assert team.invites.pending().count() == 0


def test_it_revokes_over_htmx_by_swapping_the_pending_list(
    alice_client: Client, team: Team, alice: User
) -> None:
    invite, _ = team.create_invite(Role.VIEWER, alice)
    url = reverse("accounts:invite_revoke", args=[team.code, invite.pk])

    response = alice_client.post(url, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card card-flush" id="invites">')
    assert "No pending invites" in body


def test_it_answers_404_for_an_unknown_token(client: Client, alice_client: Client) -> None:
    assert client.get(_accept_url("not-a-real-token")).status_code == 404
    assert alice_client.post(_accept_url("not-a-real-token")).status_code == 404


def test_it_does_not_accept_a_token_hash_as_a_token(team: Team, alice: User) -> None:
    invite, _ = team.create_invite(Role.VIEWER, alice)

    response = _client_for(make_user("dora")).get(_accept_url(invite.token_hash))

    assert response.status_code == 404


def test_it_says_so_when_the_user_is_already_a_member(
    bob_client: Client, team: Team, alice: User, bob: User
) -> None:
    invite, token = team.create_invite(Role.OWNER, alice)

    page = bob_client.get(_accept_url(token))
    response = bob_client.post(_accept_url(token))

    assert "You are already a member of Acme" in page.content.decode()
    assert "You are already a member of Acme" in response.content.decode()
    assert team.memberships.get(user=bob).role == Role.EDITOR
    invite.refresh_from_db()
    assert invite.used_at is None


def test_it_raises_for_a_member_accepting_at_the_model_level(
    team: Team, alice: User, bob: User
) -> None:
    invite, _ = team.create_invite(Role.VIEWER, alice)

    with pytest.raises(TeamRuleError, match="already a member"):
        invite.accept(bob)


def test_it_asks_an_anonymous_visitor_to_sign_up_and_brings_them_back(
    client: Client, team: Team, alice: User
) -> None:
    _, token = team.create_invite(Role.VIEWER, alice)
    url = _accept_url(token)

    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Join Acme" in body
    assert f"{reverse('accounts:signup')}?next={url}" in body
    assert client.post(url).url.startswith(reverse("accounts:login"))

    signup = {"username": "dora", "password1": PASSWORD, "password2": PASSWORD, "next": url}
    assert client.post(reverse("accounts:signup"), signup).url == url
    joined = client.post(url)

    dora = get_user(client)
    assert joined.url == reverse("accounts:team_detail", args=[team.code])
    assert team.memberships.get(user=dora).role == Role.VIEWER


def test_it_lists_only_pending_invites(team: Team, alice: User, bob: User) -> None:
    pending, _ = team.create_invite(Role.VIEWER, alice)
    used, _ = team.create_invite(Role.VIEWER, alice)
    used.accept(make_user("dora"))
    revoked, _ = team.create_invite(Role.VIEWER, alice)
    revoked.revoke()
    expired, _ = team.create_invite(Role.VIEWER, alice)
    Invite.objects.filter(pk=expired.pk).update(expires_at=timezone.now())

    assert list(team.invites.pending()) == [pending]
    assert [used.status, revoked.status] == ["used", "revoked"]


def test_it_cannot_revoke_another_teams_invite(
    alice_client: Client, team: Team, charlie: User
) -> None:
    other = Team.objects.get(name="Other")
    invite, _ = other.create_invite(Role.VIEWER, charlie)

    response = alice_client.post(reverse("accounts:invite_revoke", args=[team.code, invite.pk]))

    assert response.status_code == 404
    invite.refresh_from_db()
    assert invite.revoked_at is None
