"""The editor: exact whitespace, clear errors that lose nothing, turn buttons, live preview."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from django.test import Client

from playground.accounts.models import Team, User
from playground.prompts.models import PrefixTemplate, Visibility
from playground.providers.prompt import stops_from_text, stops_to_text
from tests.prompts.factories import make_template


def _textareas(html: str, name: str) -> list[str]:
    """Return the values of the textareas whose name matches `name`, in page order."""
    pattern = rf'<textarea[^>]* name="{name}"[^>]*>\n(.*?)</textarea>'
    return [html_lib.unescape(value) for value in re.findall(pattern, html, re.S)]


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Fence",
        "description": "",
        "category": "code_fence",
        "tags": "Python, code",
        "system": "",
        "prefix": "abc \n",
        "reasoning_prefix": "",
        "suffix": "",
        "stop": "```",
        "temperature": "",
        "max_tokens": "",
        "top_p": "",
        "visibility": "private",
        "team": "",
        "turns-TOTAL_FORMS": "1",
        "turns-INITIAL_FORMS": "0",
        "turns-0-role": "user",
        "turns-0-content": "Write {{task}}",
        "turns-0-images": "",
    }
    data.update(overrides)
    return data


def test_it_saves_the_prefix_exactly_as_posted(alice: User, alice_client: Client) -> None:
    response = alice_client.post("/templates/new/", _form(prefix="abc \n"))

    template = PrefixTemplate.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/templates/{template.code}/"
    assert template.prefix == "abc \n"
    assert template.owner == alice
    assert template.tags == ["python", "code"]
    assert template.revisions.get().note == "Created"


def test_it_turns_browser_line_breaks_into_newlines_and_strips_nothing(
    alice_client: Client,
) -> None:
    alice_client.post(
        "/templates/new/",
        _form(
            system="  Be brief.\r\n\r\n",
            prefix="\r\n  line one \r\n\tline two\r",
            **{"turns-0-content": " hi \r\n"},
        ),
    )

    template = PrefixTemplate.objects.get()
    assert template.system == "  Be brief.\n\n"
    assert template.prefix == "\n  line one \n\tline two\n"
    assert template.turns == [{"role": "user", "content": " hi \n", "images": []}]


def test_it_shows_the_saved_prefix_back_exactly_in_the_editor(
    alice: User, alice_client: Client
) -> None:
    template = make_template(alice, prefix="\nabc \n")

    response = alice_client.get(f"/templates/{template.code}/edit/")

    # Django writes a newline after <textarea> which the browser drops, so the value is exact.
    assert '">\n\nabc \n</textarea>' in response.content.decode()


def test_it_keeps_everything_typed_when_saving_fails(alice_client: Client) -> None:
    data = _form(
        name="",
        prefix="keep me \n",
        temperature="9",
        **{"turns-0-content": "typed {{x}}", "var-x-default": "kept default"},
    )

    response = alice_client.post("/templates/new/", data)

    assert response.status_code == 422
    assert not PrefixTemplate.objects.exists()
    html = response.content.decode()
    assert "Nothing was saved yet." in html
    editor = response.context["editor"]
    assert editor.form.errors["name"] == ["This field is required."]
    assert editor.form.errors["temperature"] == ["Ensure this value is less than or equal to 2."]
    assert ">\nkeep me \n</textarea>" in html
    assert ">\ntyped {{x}}</textarea>" in html
    assert ">\nkept default</textarea>" in html


def test_it_reports_a_turn_image_that_is_not_https_on_that_turn(alice_client: Client) -> None:
    data = _form(**{"turns-0-images": "http://example.com/cat.png"})

    response = alice_client.post("/templates/new/", data)

    turn = response.context["editor"].turns.forms[0]
    assert turn.errors["images"] == ["Must be an https:// URL."]
    assert not PrefixTemplate.objects.exists()


def test_it_requires_a_prefix_unless_there_is_a_reasoning_prefix_or_suffix(
    alice_client: Client,
) -> None:
    response = alice_client.post("/templates/new/", _form(prefix=""))

    errors = response.context["editor"].form.errors["prefix"]
    assert errors == ["Must not be empty without a reasoning prefix or FIM suffix."]
    alice_client.post("/templates/new/", _form(prefix="", suffix="\n    return x\n"))
    assert PrefixTemplate.objects.get().suffix == "\n    return x\n"


def test_it_saves_variable_defaults_and_descriptions(alice_client: Client) -> None:
    data = _form(
        prefix="{{lang}} {{style}}",
        **{
            "turns-0-content": "",
            "var-lang-default": "Python",
            "var-lang-description": "Language",
            "var-style-default": "",
            "var-unused-default": "dropped",
        },
    )

    alice_client.post("/templates/new/", data)

    variables = PrefixTemplate.objects.get().variables()
    assert [(v.name, v.default, v.description) for v in variables] == [
        ("lang", "Python", "Language"),
        ("style", None, ""),
    ]


def test_it_skips_empty_turns_and_reads_stop_escapes(alice_client: Client) -> None:
    data = _form(
        stop="```\n\\n\\n\n\nEND\\tX",
        **{"turns-TOTAL_FORMS": "2", "turns-1-role": "assistant", "turns-1-content": ""},
    )

    alice_client.post("/templates/new/", data)

    template = PrefixTemplate.objects.get()
    assert len(template.turns) == 1
    assert template.stop == ["```", "\n\n", "END\tX"]


def test_it_round_trips_stop_escapes() -> None:
    stops = ["```", "\n\n", "a\\nb", "\t", " "]

    assert list(stops_from_text(stops_to_text(stops))) == stops


@pytest.mark.parametrize(
    ("action", "contents"),
    [
        ("add", ["one", "two", ""]),
        ("remove-0", ["two"]),
        ("up-1", ["two", "one"]),
        ("down-0", ["two", "one"]),
        ("up-0", ["one", "two"]),
        ("remove-7", ["one", "two"]),
    ],
)
def test_it_edits_the_turn_list_without_saving_or_losing_text(
    alice_client: Client, action: str, contents: list[str]
) -> None:
    data = _form(
        name="",
        prefix="typed \n",
        turn_action=action,
        **{
            "turns-TOTAL_FORMS": "2",
            "turns-1-role": "assistant",
            "turns-0-content": "one",
            "turns-1-content": "two",
        },
    )

    response = alice_client.post("/templates/new/", data, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert not PrefixTemplate.objects.exists()
    html = response.content.decode()
    assert _textareas(html, r"turns-\d+-content") == contents
    assert _textareas(html, "prefix") == ["typed \n"]
    # The rows come back numbered 0..n-1, whichever numbers were posted (no count to keep).
    rows = re.findall(r'name="(turns-\d+)-role"', html)
    assert rows == [f"turns-{index}" for index in range(len(contents))]
    assert "errorlist" not in html
    assert html.lstrip().startswith('<form id="editor-form"')


def test_it_previews_the_prefix_and_lists_the_variables(alice_client: Client) -> None:
    response = alice_client.post(
        "/templates/preview/",
        {"prefix": "Hi {{name}} \r\n", "system": "{{tone}}", "var-name-default": "Ada"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        'Hi<span class="ws ws-space"> </span>{{name}}<span class="ws ws-space"> </span>'
        '<span class="ws ws-nl">\n</span></pre>'
    ) in html
    assert "Ends with a newline" in html
    assert re.findall(r'class="variable-name">\{\{(\w+)\}\}', html) == ["tone", "name"]
    assert _textareas(html, "var-name-default") == ["Ada"]


def test_it_offers_only_teams_where_the_user_edits(
    alice: User, team: Team, victor: User, victor_client: Client
) -> None:
    response = victor_client.get("/templates/new/")

    choices = dict(response.context["editor"].form.fields["team"].choices)
    assert str(team.code) not in choices
    data = _form(visibility="team", team=str(team.code))
    response = victor_client.post("/templates/new/", data)
    assert "team" in response.context["editor"].form.errors


def test_it_shares_a_template_with_a_team(alice_client: Client, team: Team) -> None:
    alice_client.post("/templates/new/", _form(visibility="team", team=str(team.code)))

    template = PrefixTemplate.objects.get()
    assert (template.visibility, template.team) == (Visibility.TEAM, team)


def test_it_asks_which_team_when_sharing_with_a_team(alice_client: Client) -> None:
    response = alice_client.post("/templates/new/", _form(visibility="team"))

    errors = response.context["editor"].form.errors["team"]
    assert errors == ["Choose the team to share this template with."]


def test_it_drops_the_team_of_a_private_template(alice_client: Client, team: Team) -> None:
    alice_client.post("/templates/new/", _form(visibility="private", team=str(team.code)))

    assert PrefixTemplate.objects.get().team is None


def test_it_edits_an_existing_template_and_keeps_a_revision(
    alice: User, alice_client: Client
) -> None:
    template = make_template(alice, prefix="old")

    response = alice_client.post(f"/templates/{template.code}/edit/", _form(prefix="new \n"))

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.prefix == "new \n"
    assert list(template.revisions.values_list("number", flat=True)) == [2, 1]


def test_it_saves_a_speaker_name_and_shows_it_again(alice: User, alice_client: Client) -> None:
    alice_client.post("/templates/new/", _form(speaker_name="凯尔希"))

    template = PrefixTemplate.objects.get()
    assert template.speaker_name == "凯尔希"
    assert template.content()["speaker_name"] == "凯尔希"
    edit = alice_client.get(f"/templates/{template.code}/edit/").content.decode()
    assert 'name="speaker_name"' in edit and 'value="凯尔希"' in edit
    detail = alice_client.get(f"/templates/{template.code}/").content.decode()
    assert '<strong class="speaker-name">凯尔希</strong>' in detail


def test_it_refuses_a_speaker_name_on_two_lines_and_keeps_the_rest(
    alice: User, alice_client: Client
) -> None:
    response = alice_client.post("/templates/new/", _form(speaker_name="a\nb", prefix="kept \n"))

    body = response.content.decode()
    assert not PrefixTemplate.objects.exists()
    assert "The speaker name must be one line." in body  # the one message, both pages
    assert _textareas(body, "prefix") == ["kept \n"]


def test_a_template_without_a_speaker_name_keeps_its_revisions(alice: User) -> None:
    template = make_template(alice, name="Plain")
    template.save()
    assert template.revisions.count() == 1
    assert "speaker_name" not in template.content()
