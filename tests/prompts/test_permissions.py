"""Who may view, edit, delete, fork and export a template: one table, every case.

alice owns the template and Acme; olivia is a second owner of Acme, bob an editor, victor a
viewer; charlie is an outsider. Whatever someone may not do answers 404, never 403.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from playground.accounts.models import Role, Team, User
from playground.prompts.models import PrefixTemplate, Visibility
from tests.factories import add_member, make_user
from tests.prompts.factories import make_template

ACTIONS = ("view", "edit", "delete", "fork", "export")
EVERYTHING = set(ACTIONS)
READ = {"view", "fork", "export"}
NOTHING: set[str] = set()
EDIT = READ | {"edit"}

# visibility case -> person -> the actions they may take.
ALLOWED = {
    "private": {
        "alice": EVERYTHING,
        "olivia": NOTHING,
        "bob": NOTHING,
        "victor": NOTHING,
        "charlie": NOTHING,
    },
    "team": {
        "alice": EVERYTHING,
        "olivia": EVERYTHING,
        "bob": EDIT,
        "victor": READ,
        "charlie": NOTHING,
    },
    "public (team)": {
        "alice": EVERYTHING,
        "olivia": EVERYTHING,
        "bob": EDIT,
        "victor": READ,
        "charlie": READ,
    },
    "public (no team)": {
        "alice": EVERYTHING,
        "olivia": READ,
        "bob": READ,
        "victor": READ,
        "charlie": READ,
    },
}
CASES = [
    (case, person, action, action in allowed)
    for case, people in ALLOWED.items()
    for person, allowed in people.items()
    for action in ACTIONS
]


@pytest.fixture
def people(alice: User, team: Team, bob: User, victor: User, charlie: User) -> dict[str, User]:
    olivia = make_user("olivia")
    add_member(team, olivia, Role.OWNER)
    return {"alice": alice, "olivia": olivia, "bob": bob, "victor": victor, "charlie": charlie}


def _template(case: str, alice: User, team: Team) -> PrefixTemplate:
    visibility, team_or_none = {
        "private": (Visibility.PRIVATE, None),
        "team": (Visibility.TEAM, team),
        "public (team)": (Visibility.PUBLIC, team),
        "public (no team)": (Visibility.PUBLIC, None),
    }[case]
    return make_template(alice, visibility=visibility, team=team_or_none)


def _attempt(client: Client, action: str, template: PrefixTemplate) -> Any:
    base = f"/templates/{template.code}/"
    return {
        "view": lambda: client.get(base),
        "edit": lambda: client.get(f"{base}edit/"),
        "delete": lambda: client.post(f"{base}delete/"),
        "fork": lambda: client.post(f"{base}fork/"),
        "export": lambda: client.get(f"{base}export/"),
    }[action]()


@pytest.mark.parametrize(("case", "person", "action", "allowed"), CASES)
def test_it_answers_each_person_and_action_as_the_table_says(
    people: dict[str, User], team: Team, case: str, person: str, action: str, allowed: bool
) -> None:
    template = _template(case, people["alice"], team)
    client = Client()
    client.force_login(people[person])

    response = _attempt(client, action, template)

    expected = {"delete": 302, "fork": 302}.get(action, 200) if allowed else 404
    assert response.status_code == expected
    still_there = PrefixTemplate.objects.filter(pk=template.pk).exists()
    assert still_there is not (action == "delete" and allowed)
    forks = PrefixTemplate.objects.filter(forked_from=template, owner=people[person])
    assert forks.exists() is (action == "fork" and allowed)


@pytest.mark.parametrize("case", list(ALLOWED))
def test_it_gives_the_same_answers_from_the_querysets_and_the_model(
    people: dict[str, User], team: Team, case: str
) -> None:
    template = _template(case, people["alice"], team)
    objects = PrefixTemplate.objects
    for person, allowed in ALLOWED[case].items():
        user = people[person]
        assert objects.visible_to(user).filter(pk=template.pk).exists() is ("view" in allowed)
        assert objects.editable_by(user).filter(pk=template.pk).exists() is ("edit" in allowed)
        assert objects.deletable_by(user).filter(pk=template.pk).exists() is ("delete" in allowed)
        assert template.can_view(user) is ("view" in allowed)
        assert template.can_edit(user) is ("edit" in allowed)
        assert template.can_delete(user) is ("delete" in allowed)


def test_it_lets_a_team_editor_save_changes_but_not_a_viewer(
    team: Team, alice: User, bob_client: Client, victor_client: Client
) -> None:
    template = make_template(alice, visibility=Visibility.TEAM, team=team)
    data = {
        "name": "Edited by bob",
        "category": "other",
        "prefix": "{",
        "turns-TOTAL_FORMS": "0",
        "turns-INITIAL_FORMS": "0",
    }

    assert victor_client.post(f"/templates/{template.code}/edit/", data).status_code == 404
    assert bob_client.post(f"/templates/{template.code}/edit/", data).status_code == 302

    template.refresh_from_db()
    assert template.name == "Edited by bob"
    # bob may not change who sees alice's template: the visibility fields are not his.
    assert (template.visibility, template.team) == (Visibility.TEAM, team)


def test_it_keeps_the_starter_library_read_only(alice_client: Client) -> None:
    template = make_template(None, visibility=Visibility.PUBLIC, key="starter")

    assert alice_client.get(f"/templates/{template.code}/").status_code == 200
    assert alice_client.get(f"/templates/{template.code}/edit/").status_code == 404
    assert alice_client.post(f"/templates/{template.code}/delete/").status_code == 404
    assert alice_client.post(f"/templates/{template.code}/fork/").status_code == 302


def test_it_sends_anonymous_visitors_to_log_in(alice: User) -> None:
    template = make_template(alice, visibility=Visibility.PUBLIC)

    response = Client().get(f"/templates/{template.code}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not PrefixTemplate.objects.visible_to(AnonymousUser()).exists()
