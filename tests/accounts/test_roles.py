"""Who may do what in a team: owner / editor / viewer / outsider × every team action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Invite, Membership, Role, Team, User
from tests.factories import add_member, make_user

pytestmark = pytest.mark.django_db


@dataclass
class Scene:
    team: Team
    actor: User
    client: Client
    target: Membership  # dora, a viewer the action is aimed at when it needs someone
    members_before: int


def _post(name: str, /, **data: str) -> Callable[[Scene], HttpResponse]:
    def act(scene: Scene) -> HttpResponse:
        kwargs: dict[str, object] = {"code": scene.team.code}
        if name in ("accounts:member_role", "accounts:member_remove"):
            kwargs["pk"] = scene.target.pk
        return scene.client.post(reverse(name, kwargs=kwargs), data)

    return act


def _view(scene: Scene) -> HttpResponse:
    return scene.client.get(reverse("accounts:team_detail", args=[scene.team.code]))


Effect = Callable[[Scene, HttpResponse], bool]
ACTIONS: dict[str, tuple[Callable[[Scene], HttpResponse], Effect]] = {
    # action: (what the actor sends, whether it took effect)
    "view": (_view, lambda s, r: s.team.name in r.content.decode()),
    "rename": (
        _post("accounts:team_rename", name="Renamed"),
        lambda s, _: Team.objects.get(pk=s.team.pk).name == "Renamed",
    ),
    "invite": (
        _post("accounts:invite_create", role=Role.EDITOR),
        lambda s, _: Invite.objects.filter(team=s.team).exists(),
    ),
    "change role": (
        _post("accounts:member_role", role=Role.EDITOR),
        lambda s, _: Membership.objects.get(pk=s.target.pk).role == Role.EDITOR,
    ),
    "remove member": (
        _post("accounts:member_remove"),
        lambda s, _: not Membership.objects.filter(pk=s.target.pk).exists(),
    ),
    "delete team": (
        _post("accounts:team_delete"),
        lambda s, _: not Team.objects.filter(pk=s.team.pk).exists(),
    ),
    "leave": (
        _post("accounts:team_leave"),
        lambda s, _: s.team.memberships.count() < s.members_before,
    ),
}

OWNER_ONLY = {"rename", "invite", "change role", "remove member", "delete team"}
EXPECTED: dict[tuple[str, str], tuple[int, bool]] = {
    ("owner", "view"): (200, True),
    ("owner", "rename"): (302, True),
    ("owner", "invite"): (200, True),
    ("owner", "change role"): (302, True),
    ("owner", "remove member"): (302, True),
    ("owner", "delete team"): (302, True),
    # alice is Acme's only owner: the request is answered, but she stays.
    ("owner", "leave"): (302, False),
    **{(role, action): (403, False) for role in ("editor", "viewer") for action in OWNER_ONLY},
    ("editor", "view"): (200, True),
    ("editor", "leave"): (302, True),
    ("viewer", "view"): (200, True),
    ("viewer", "leave"): (302, True),
    **{("outsider", action): (404, False) for action in ACTIONS},
}


def test_it_has_an_expectation_for_every_role_and_action() -> None:
    roles = ("owner", "editor", "viewer", "outsider")
    assert set(EXPECTED) == {(role, action) for role in roles for action in ACTIONS}


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED))
def test_it_applies_the_team_role_rules(
    role: str,
    action: str,
    team: Team,
    alice_client: Client,
    bob_client: Client,
    victor_client: Client,
    charlie_client: Client,
) -> None:
    clients = {
        "owner": alice_client,
        "editor": bob_client,
        "viewer": victor_client,
        "outsider": charlie_client,
    }
    client = clients[role]
    actor = User.objects.get(pk=client.session["_auth_user_id"])
    target = add_member(team, make_user("dora"), Role.VIEWER)
    scene = Scene(team, actor, client, target, members_before=team.memberships.count())
    act, took_effect = ACTIONS[action]

    response = act(scene)

    expected_status, expected_effect = EXPECTED[(role, action)]
    assert response.status_code == expected_status
    assert took_effect(scene, response) is expected_effect
