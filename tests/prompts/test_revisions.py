"""Revisions: kept on every save that changes something, listed, shown, diffed, restored."""

from __future__ import annotations

import pytest
from django.test import Client

from playground.accounts.models import Team, User
from playground.prompts.diff import diff_contents, diff_text
from playground.prompts.models import PrefixTemplate, TemplateRevision, Visibility
from tests.prompts.factories import make_template


def _edit(template: PrefixTemplate, author: User, **changes: object) -> None:
    for field, value in changes.items():
        setattr(template, field, value)
    template.save(author=author)


def test_it_keeps_a_revision_for_the_first_save_and_every_change(alice: User) -> None:
    template = make_template(alice, prefix="abc")
    _edit(template, alice, prefix="abc \n")
    _edit(template, alice, name="Renamed")

    numbers = list(template.revisions.values_list("number", flat=True))
    assert numbers == [3, 2, 1]
    assert template.revisions.get(number=1).content["prefix"] == "abc"
    assert template.revisions.get(number=2).content["prefix"] == "abc \n"
    assert template.revisions.get(number=3).content["name"] == "Renamed"
    assert template.revisions.get(number=3).author == alice


def test_it_adds_no_revision_when_a_save_changes_nothing(alice: User) -> None:
    template = make_template(alice)

    template.save(author=alice)

    assert template.revisions.count() == 1


def test_it_snapshots_the_whole_content_in_schema_form(alice: User) -> None:
    template = make_template(alice, temperature=0.3, tags=["python"])

    assert template.revisions.get().content == template.content()


def test_it_diffs_a_trailing_space_and_newline_as_a_change() -> None:
    rows = diff_text("abc", "abc \n")

    assert [row.kind for row in rows] == ["delete", "insert"]
    changed = [segment.text for segment in rows[1].segments if segment.changed]
    assert changed == [" \n"]
    assert not any(segment.changed for segment in rows[0].segments)


def test_it_marks_only_the_changed_word_in_a_line() -> None:
    rows = diff_text("keep this line\n", "keep that line\n")

    deleted = [(s.text, s.changed) for s in rows[0].segments]
    inserted = [(s.text, s.changed) for s in rows[1].segments]
    assert ("this", True) in deleted
    assert ("that", True) in inserted
    assert inserted == [("keep ", False), ("that", True), (" line\n", False)]


def test_it_folds_long_unchanged_runs() -> None:
    old = "".join(f"line {n}\n" for n in range(20))
    new = old.replace("line 10\n", "line ten\n")

    kinds = [row.kind for row in diff_text(old, new)]

    assert kinds.count("skip") == 2
    assert kinds.count("equal") == 4
    assert sum(row.skipped for row in diff_text(old, new)) == 15


def test_it_reports_only_the_fields_that_differ(alice: User) -> None:
    template = make_template(alice)
    before = template.content()
    _edit(template, alice, prefix="```python \n", stop=["```", "\n\n"])

    fields = diff_contents(before, template.content())

    assert [field.label for field in fields] == ["Assistant prefix", "Stop sequences"]


def test_it_shows_the_diff_page_with_whitespace_visible(alice: User, alice_client: Client) -> None:
    template = make_template(alice, prefix="abc")
    _edit(template, alice, prefix="abc \n")

    response = alice_client.get(f"/templates/{template.code}/revisions/2/diff/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<mark><span class="ws ws-space"> </span><span class="ws ws-nl">\n</span></mark>' in html
    assert "Assistant prefix" in html


def test_it_diffs_against_a_chosen_revision(alice: User, alice_client: Client) -> None:
    template = make_template(alice, name="One")
    _edit(template, alice, name="Two")
    _edit(template, alice, name="Three")

    response = alice_client.get(f"/templates/{template.code}/revisions/3/diff/?against=1")

    labels = [field.label for field in response.context["fields"]]
    assert labels == ["Name"]
    assert response.context["old"].number == 1


def test_it_lists_and_shows_revisions(alice: User, alice_client: Client) -> None:
    template = make_template(alice, prefix="old prefix")
    _edit(template, alice, prefix="new prefix")

    listing = alice_client.get(f"/templates/{template.code}/revisions/")
    shown = alice_client.get(f"/templates/{template.code}/revisions/1/")

    assert [r.number for r in listing.context["revisions"]] == [2, 1]
    assert 'old<span class="ws ws-space"> </span>prefix' in shown.content.decode()
    assert alice_client.get(f"/templates/{template.code}/revisions/9/").status_code == 404


def test_it_restores_an_old_revision_as_a_new_one(alice: User, alice_client: Client) -> None:
    template = make_template(alice, prefix="abc", temperature=0.5)
    _edit(template, alice, prefix="abc \n", temperature=None, name="Changed")

    response = alice_client.post(f"/templates/{template.code}/revisions/1/restore/")

    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.prefix, template.temperature, template.name) == ("abc", 0.5, "Python fence")
    latest = template.revisions.first()
    assert latest is not None
    assert latest.number == 3
    assert latest.note == "Restored revision 1"
    assert latest.content == template.revisions.get(number=1).content


@pytest.mark.parametrize("client_name", ["victor_client", "charlie_client"])
def test_it_refuses_a_restore_to_those_who_cannot_edit(
    alice: User, team: Team, client_name: str, request: pytest.FixtureRequest
) -> None:
    template = make_template(alice, prefix="abc", visibility=Visibility.TEAM, team=team)
    _edit(template, alice, prefix="abd")
    client: Client = request.getfixturevalue(client_name)

    response = client.post(f"/templates/{template.code}/revisions/1/restore/")

    assert response.status_code == 404
    template.refresh_from_db()
    assert template.prefix == "abd"


def test_it_lets_team_members_read_the_history(
    alice: User, team: Team, victor_client: Client, charlie_client: Client
) -> None:
    template = make_template(alice, visibility=Visibility.TEAM, team=team)

    assert victor_client.get(f"/templates/{template.code}/revisions/").status_code == 200
    assert charlie_client.get(f"/templates/{template.code}/revisions/").status_code == 404
    assert charlie_client.get(f"/templates/{template.code}/revisions/1/diff/").status_code == 404


def test_it_deletes_revisions_with_their_template(alice: User) -> None:
    template = make_template(alice)

    template.delete()

    assert not TemplateRevision.objects.exists()


WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CONVERT = {"name": "convert_units", "description": "Convert a value"}
SEARCH = {"name": "search", "description": "Search the web"}


def test_it_lists_tools_added_removed_and_changed_and_the_tool_choice(alice: User) -> None:
    template = make_template(alice, tools=[WEATHER, CONVERT], tool_choice="auto")
    before = template.content()
    changed_weather = {**WEATHER, "parameters": {"type": "object", "properties": {}}}
    _edit(
        template,
        alice,
        tools=[changed_weather, SEARCH],
        tool_choice={"type": "function", "name": "search"},
    )

    fields = {field.label: field for field in diff_contents(before, template.content())}

    assert set(fields) == {"Tool choice", "Tool get_weather", "Tool search", "Tool convert_units"}
    assert fields["Tool search"].change == "added"
    assert fields["Tool convert_units"].change == "removed"
    assert fields["Tool get_weather"].change == ""
    deleted = "".join(
        segment.text
        for line in fields["Tool get_weather"].lines
        if line.kind == "delete"
        for segment in line.segments
    )
    assert '"city"' in deleted  # the property the new definition dropped
    choice = [line for line in fields["Tool choice"].lines if line.kind != "equal"]
    assert [line.kind for line in choice] == ["delete", "insert"]
    assert "".join(s.text for s in choice[1].segments) == "search"


def test_the_revision_diff_page_marks_added_and_removed_tools(
    alice: User, alice_client: Client
) -> None:
    template = make_template(alice, tools=[CONVERT])
    _edit(template, alice, tools=[WEATHER])

    html = alice_client.get(f"/templates/{template.code}/revisions/2/diff/").content.decode()

    assert 'Tool get_weather <span class="badge badge-ok">added</span>' in html
    assert 'Tool convert_units <span class="badge badge-danger">removed</span>' in html
    # A first revision has nothing to compare with: its fields are not marked.
    first = alice_client.get(f"/templates/{template.code}/revisions/1/diff/").content.decode()
    assert "Tool convert_units" in first and "added</span>" not in first
