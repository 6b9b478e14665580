"""A team always keeps an owner: the last one cannot leave, be demoted or be removed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Membership, Role, Team, TeamRuleError, User

pytestmark = pytest.mark.django_db


def _membership(team: Team, user: User) -> Membership:
    return team.memberships.get(user=user)


def test_it_refuses_to_demote_the_last_owner(team: Team, alice: User) -> None:
    owner = _membership(team, alice)

    with pytest.raises(TeamRuleError, match="Acme needs at least one owner"):
        owner.change_role(Role.EDITOR)

    assert _membership(team, alice).role == Role.OWNER


def test_it_refuses_to_remove_the_last_owner(team: Team, alice: User) -> None:
    with pytest.raises(TeamRuleError):
        team.remove_member(_membership(team, alice))

    assert team.memberships.filter(user=alice, role=Role.OWNER).exists()


def test_it_lets_one_of_two_owners_step_down_but_not_both(
    team: Team, alice: User, bob: User
) -> None:
    _membership(team, bob).change_role(Role.OWNER)

    _membership(team, alice).change_role(Role.VIEWER)
    with pytest.raises(TeamRuleError):
        _membership(team, bob).change_role(Role.VIEWER)

    assert list(
        team.memberships.filter(role=Role.OWNER).values_list("user__username", flat=True)
    ) == ["bob"]


def test_it_lets_an_owner_leave_once_there_is_a_second_owner(
    team: Team, alice: User, bob: User
) -> None:
    _membership(team, bob).change_role(Role.OWNER)

    team.remove_member(_membership(team, alice))

    assert not team.memberships.filter(user=alice).exists()
    with pytest.raises(TeamRuleError):
        team.remove_member(_membership(team, bob))


def test_it_reads_the_current_role_not_a_stale_copy(team: Team, alice: User, bob: User) -> None:
    # bob's in-memory copy still says editor after he was made an owner elsewhere.
    stale_bob = _membership(team, bob)
    Membership.objects.filter(pk=stale_bob.pk).update(role=Role.OWNER)
    team.remove_member(_membership(team, alice))

    with pytest.raises(TeamRuleError):
        stale_bob.change_role(Role.VIEWER)


def test_it_shows_the_reason_when_the_last_owner_tries_to_leave(
    alice_client: Client, team: Team
) -> None:
    confirm = alice_client.get(reverse("accounts:team_leave", args=[team.code]))
    assert "You can't leave Acme yet" in confirm.content.decode()

    response = alice_client.post(reverse("accounts:team_leave", args=[team.code]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("accounts:team_detail", args=[team.code])
    assert "Acme needs at least one owner" in response.content.decode()


def test_it_shows_the_reason_in_the_members_card_over_htmx(
    alice_client: Client, team: Team, alice: User
) -> None:
    owner = _membership(team, alice)
    url = reverse("accounts:member_role", args=[team.code, owner.pk])

    response = alice_client.post(url, {"role": Role.VIEWER}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card card-flush" id="members">')
    assert "Acme needs at least one owner" in body
    assert _membership(team, alice).role == Role.OWNER


def test_it_refuses_removing_the_last_owner_through_the_view(
    alice_client: Client, team: Team, alice: User
) -> None:
    url = reverse("accounts:member_remove", args=[team.code, _membership(team, alice).pk])

    response = alice_client.post(url, follow=True)

    assert "Acme needs at least one owner" in response.content.decode()
    assert team.memberships.filter(user=alice, role=Role.OWNER).exists()
