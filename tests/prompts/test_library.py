"""The library page: search, filters, sort and pages, over what the user may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from playground.accounts.models import Team, User
from playground.prompts.models import PrefixTemplate, Visibility
from tests.prompts.factories import make_template


def _names(response: object) -> list[str]:
    return [t.name for t in response.context["page"].rows]  # type: ignore[attr-defined]


@pytest.fixture
def library(alice: User, team: Team, charlie: User) -> None:
    make_template(alice, name="SQL fence", description="Queries", prefix="```sql\n", tags=["sql"])
    make_template(
        alice,
        name="Story opener",
        category="story",
        prefix="Once upon a TIME",
        tags=["fiction"],
        visibility=Visibility.TEAM,
        team=team,
    )
    make_template(
        charlie,
        name="JSON opener",
        description="Extract product fields",
        category="json",
        prefix="{",
        tags=["json", "extraction"],
        visibility=Visibility.PUBLIC,
    )
    make_template(charlie, name="Charlie's secret SQL", tags=["sql"])


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["JSON opener", "Story opener", "SQL fence"]),
        ("sql", ["SQL fence"]),
        ("QUERIES", ["SQL fence"]),
        ("product fields", ["JSON opener"]),
        ("extraction", ["JSON opener"]),
        ("upon a time", ["Story opener"]),
        ("opener json", ["JSON opener"]),
        ("nothing-like-this", []),
    ],
)
def test_it_searches_names_descriptions_tags_and_prefix_text(
    alice_client: Client, query: str, expected: list[str]
) -> None:
    response = alice_client.get("/templates/", {"q": query})

    assert _names(response) == expected


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "story"}, ["Story opener"]),
        ({"visibility": "public"}, ["JSON opener"]),
        ({"visibility": "private"}, ["SQL fence"]),
        ({"tag": "SQL"}, ["SQL fence"]),
        ({"tag": "sq"}, []),
        ({"category": "json", "q": "opener"}, ["JSON opener"]),
        ({"category": "not-a-category"}, ["JSON opener", "Story opener", "SQL fence"]),
    ],
)
def test_it_filters_by_category_visibility_and_tag(
    alice_client: Client, params: dict[str, str], expected: list[str]
) -> None:
    assert _names(alice_client.get("/templates/", params)) == expected


@pytest.mark.usefixtures("library")
def test_it_filters_by_team(alice_client: Client, team: Team) -> None:
    assert _names(alice_client.get("/templates/", {"team": str(team.code)})) == ["Story opener"]


@pytest.mark.usefixtures("library")
def test_it_shows_outsiders_only_what_is_public_or_theirs(charlie_client: Client) -> None:
    names = _names(charlie_client.get("/templates/"))

    assert sorted(names) == ["Charlie's secret SQL", "JSON opener"]


def test_it_sorts_by_update_creation_or_name(alice: User, alice_client: Client) -> None:
    for offset, name in enumerate(["banana", "Apple", "cherry"]):
        template = make_template(alice, name=name)
        stamp = timezone.now() - timedelta(days=offset)
        PrefixTemplate.objects.filter(pk=template.pk).update(created_at=stamp)
    PrefixTemplate.objects.filter(name="banana").update(updated_at=timezone.now())

    assert _names(alice_client.get("/templates/"))[0] == "banana"
    assert _names(alice_client.get("/templates/", {"sort": "newest"})) == [
        "banana",
        "Apple",
        "cherry",
    ]
    assert _names(alice_client.get("/templates/", {"sort": "name"})) == [
        "Apple",
        "banana",
        "cherry",
    ]


def test_it_paginates_and_keeps_the_filters_in_the_links(alice: User, alice_client: Client) -> None:
    for number in range(30):
        make_template(alice, name=f"T{number:02d}", tags=["bulk"])

    first = alice_client.get("/templates/", {"tag": "bulk", "sort": "name"})
    second = alice_client.get("/templates/", {"tag": "bulk", "sort": "name", "page": "2"})
    beyond = alice_client.get("/templates/", {"tag": "bulk", "sort": "name", "page": "99"})

    assert _names(first) == [f"T{n:02d}" for n in range(25)]
    assert "Templates 1–25\n" in first.content.decode()
    assert "?tag=bulk&amp;sort=name&amp;page=2" in first.content.decode()
    assert _names(second) == [f"T{n:02d}" for n in range(25, 30)]
    assert "Templates 26–30 of 30" in second.content.decode()
    assert "?tag=bulk&amp;sort=name&amp;page=1" in second.content.decode()
    assert _names(beyond) == []
    assert "Page 99 is past the last template." in beyond.content.decode()


@pytest.mark.usefixtures("library")
def test_it_counts_the_matches_when_they_fit_on_one_page(alice_client: Client) -> None:
    response = alice_client.get("/templates/", {"q": "sql"})

    assert "1 template\n" in response.content.decode()
    assert "Next →</a>" not in response.content.decode()


@pytest.mark.usefixtures("library")
def test_it_answers_htmx_with_the_results_only(alice_client: Client) -> None:
    response = alice_client.get("/templates/", {"q": "sql"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="library-results"')
    assert "SQL fence" in html
    assert "Story opener" not in html


def test_it_shows_an_empty_state(alice_client: Client) -> None:
    html = alice_client.get("/templates/", {"q": "zzz"}).content.decode()

    assert "No templates match." in html


@pytest.mark.usefixtures("library")
def test_it_shows_the_prefix_with_visible_whitespace_in_the_list(alice_client: Client) -> None:
    html = alice_client.get("/templates/", {"q": "sql"}).content.decode()

    assert '```sql<span class="ws ws-nl">\n</span></code>' in html
