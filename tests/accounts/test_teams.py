from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Invite, Membership, Role, Team, User
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _detail(team: Team) -> str:
    return reverse("accounts:team_detail", args=[team.code])


def test_it_makes_the_creator_the_owner(alice_client: Client, alice: User) -> None:
    response = alice_client.post(reverse("accounts:team_create"), {"name": "  Research  "})

    team = Team.objects.get(name="Research")
    assert response.url == _detail(team)
    assert list(team.memberships.values_list("user__username", "role")) == [("alice", "owner")]


def test_it_refuses_a_blank_team_name(alice_client: Client) -> None:
    response = alice_client.post(reverse("accounts:team_create"), {"name": "   "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Team.objects.exclude(name="Acme").exists()


def test_it_lists_my_teams_with_my_role_and_no_one_elses(
    bob_client: Client, team: Team, charlie: User
) -> None:
    response = bob_client.get(reverse("accounts:teams"))

    body = response.content.decode()
    assert _detail(team) in body
    assert "Editor" in body
    assert "Other" not in body


def test_it_lets_a_user_be_in_several_teams_with_a_role_in_each(
    charlie_client: Client, charlie: User, team: Team, alice: User
) -> None:
    _, token = team.create_invite(Role.VIEWER, alice)
    charlie_client.post(reverse("accounts:invite_accept", args=[token]))
    other = Team.objects.get(name="Other")

    body = charlie_client.get(reverse("accounts:teams")).content.decode()

    assert _detail(team) in body and _detail(other) in body
    roles = dict(charlie.memberships.values_list("team__name", "role"))
    assert roles == {"Acme": "viewer", "Other": "owner"}
    rename = {"name": "Renamed"}
    assert (
        charlie_client.post(reverse("accounts:team_rename", args=[team.code]), rename).status_code
        == 403
    )
    assert (
        charlie_client.post(reverse("accounts:team_rename", args=[other.code]), rename).status_code
        == 302
    )
    assert list(Team.objects.for_user(charlie).values_list("name", flat=True)) == [
        "Acme",
        "Renamed",
    ]


def test_it_shows_members_and_roles_and_owner_controls_only_to_owners(
    alice_client: Client, victor_client: Client, team: Team, bob: User, victor: User
) -> None:
    owner_page = alice_client.get(_detail(team)).content.decode()
    viewer_page = victor_client.get(_detail(team)).content.decode()

    for page in (owner_page, viewer_page):
        assert "alice" in page and "bob" in page and "victor" in page
    assert 'name="role"' in owner_page and "Invite member" in owner_page
    assert 'name="role"' not in viewer_page and "Invite member" not in viewer_page
    assert "Delete team" not in viewer_page and "Leave team" in viewer_page


def test_it_keeps_the_name_when_a_rename_is_blank(alice_client: Client, team: Team) -> None:
    response = alice_client.post(reverse("accounts:team_rename", args=[team.code]), {"name": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    team.refresh_from_db()
    assert team.name == "Acme"


def test_it_changes_a_role_over_htmx_and_returns_the_members_card(
    alice_client: Client, team: Team, victor: User
) -> None:
    member = team.memberships.get(user=victor)
    url = reverse("accounts:member_role", args=[team.code, member.pk])

    response = alice_client.post(url, {"role": Role.EDITOR}, headers=HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card card-flush" id="members">')
    assert "victor is now editor." in body
    member.refresh_from_db()
    assert member.role == Role.EDITOR


def test_it_refuses_an_unknown_role(alice_client: Client, team: Team, victor: User) -> None:
    member = team.memberships.get(user=victor)
    url = reverse("accounts:member_role", args=[team.code, member.pk])

    response = alice_client.post(url, {"role": "admin"}, headers=HTMX)

    assert "Choose owner, editor or viewer." in response.content.decode()
    member.refresh_from_db()
    assert member.role == Role.VIEWER


def test_it_reloads_the_page_when_an_owner_changes_their_own_role(
    alice_client: Client, team: Team, alice: User, bob: User
) -> None:
    team.memberships.filter(user=bob).update(role=Role.OWNER)
    mine = team.memberships.get(user=alice)
    url = reverse("accounts:member_role", args=[team.code, mine.pk])

    response = alice_client.post(url, {"role": Role.VIEWER}, headers=HTMX)

    assert response["HX-Redirect"] == _detail(team)
    assert alice_client.get(_detail(team)).content.decode().count('name="role"') == 0


def test_it_removes_a_member_over_htmx(alice_client: Client, team: Team, bob: User) -> None:
    member = team.memberships.get(user=bob)
    url = reverse("accounts:member_remove", args=[team.code, member.pk])

    response = alice_client.post(url, headers=HTMX)

    body = response.content.decode()
    assert "Removed bob from Acme." in body
    assert f'id="member-{member.pk}"' not in body
    assert not team.memberships.filter(user=bob).exists()


def test_it_cannot_reach_a_membership_of_another_team(
    alice_client: Client, team: Team, charlie: User
) -> None:
    foreign = Membership.objects.get(user=charlie)
    url = reverse("accounts:member_remove", args=[team.code, foreign.pk])

    assert alice_client.post(url).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_it_deletes_the_team_with_its_memberships_and_invites(
    alice_client: Client, team: Team, alice: User, bob: User
) -> None:
    team.create_invite(Role.VIEWER, alice)

    response = alice_client.post(reverse("accounts:team_delete", args=[team.code]))

    assert response.url == reverse("accounts:teams")
    assert not Team.objects.filter(pk=team.pk).exists()
    assert not Membership.objects.filter(user=bob).exists()
    assert not Invite.objects.exists()


def test_it_lets_a_member_leave(bob_client: Client, team: Team, bob: User) -> None:
    response = bob_client.post(reverse("accounts:team_leave", args=[team.code]))

    assert response.url == reverse("accounts:teams")
    assert not team.memberships.filter(user=bob).exists()
    assert bob_client.get(_detail(team)).status_code == 404


def test_it_lists_the_teams_of_a_new_user_as_empty(client: Client) -> None:
    client.force_login(make_user("dora"))

    body = client.get(reverse("accounts:teams")).content.decode()

    assert "No teams yet." in body
