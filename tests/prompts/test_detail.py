"""The detail page, forks and deletion."""

from __future__ import annotations

from django.test import Client

from playground.accounts.models import Team, User
from playground.prompts.models import PrefixTemplate, Visibility
from tests.prompts.factories import make_template


def test_it_shows_every_part_of_the_template(alice: User, alice_client: Client) -> None:
    template = make_template(
        alice,
        system="Be terse.",
        turns=[{"role": "user", "content": "Look", "images": ["https://example.com/a.png"]}],
        prefix="a\tb \n",
        reasoning_prefix="Hmm",
        suffix="end",
        stop=["\n\n"],
        temperature=0.3,
        variable_notes=[],
    )

    html = alice_client.get(f"/templates/{template.code}/").content.decode()

    assert 'a<span class="ws ws-tab">\t</span>b<span class="ws ws-space"> </span>' in html
    assert "https://example.com/a.png" in html
    assert '<pre class="ws-view">Be terse.</pre>' in html
    assert 'data-field="reasoning_prefix">Hmm</pre>' in html
    assert 'data-field="suffix">end</pre>' in html
    assert '<span class="ws ws-nl">\n</span><span class="ws ws-nl">\n</span></code>' in html
    assert f'href="/runs/?template={template.code}"' in html
    assert f'href="/templates/{template.code}/edit/"' in html
    assert "{#" not in html and "{%" not in html


def test_it_hides_edit_and_delete_from_those_who_may_not(
    alice: User, team: Team, victor_client: Client
) -> None:
    template = make_template(alice, visibility=Visibility.TEAM, team=team)

    html = victor_client.get(f"/templates/{template.code}/").content.decode()

    assert f"/templates/{template.code}/edit/" not in html
    assert f"/templates/{template.code}/delete/" not in html
    assert f"/templates/{template.code}/fork/" in html


def test_it_forks_into_a_private_copy_linked_to_its_source(
    alice: User, team: Team, bob: User, bob_client: Client
) -> None:
    source = make_template(alice, visibility=Visibility.TEAM, team=team, tags=["x"])

    response = bob_client.post(f"/templates/{source.code}/fork/")

    copy = PrefixTemplate.objects.get(owner=bob)
    assert response["Location"] == f"/templates/{copy.code}/"
    assert copy.name == "Python fence (fork)"
    assert (copy.visibility, copy.team, copy.forked_from) == (Visibility.PRIVATE, None, source)
    assert {k: v for k, v in copy.content().items() if k != "name"} == {
        k: v for k, v in source.content().items() if k != "name"
    }
    assert copy.revisions.get().note == "Forked from “Python fence”"
    html = bob_client.get(response["Location"]).content.decode()
    assert f'Forked from <a href="/templates/{source.code}/">Python fence</a>' in html


def test_it_does_not_name_a_fork_source_the_viewer_cannot_see(
    alice: User, alice_client: Client, charlie: User
) -> None:
    source = make_template(charlie, name="Charlie's own", visibility=Visibility.PUBLIC)
    copy = source.fork(alice)
    source.visibility = Visibility.PRIVATE
    source.save()

    html = alice_client.get(f"/templates/{copy.code}/").content.decode()

    assert "Forked from a template you can no longer see." in html
    assert "/templates/" + str(source.code) not in html


def test_it_keeps_a_fork_name_within_the_limit(alice: User) -> None:
    source = make_template(alice, name="x" * 120)

    assert len(source.fork(alice).name) == 120


def test_it_asks_before_deleting(alice: User, alice_client: Client) -> None:
    template = make_template(alice)

    page = alice_client.get(f"/templates/{template.code}/delete/")
    response = alice_client.post(f"/templates/{template.code}/delete/")

    assert "Delete this template?" in page.content.decode()
    assert response["Location"] == "/templates/"
    assert not PrefixTemplate.objects.exists()


def test_it_leaks_no_template_syntax_on_any_page(alice: User, alice_client: Client) -> None:
    template = make_template(alice, prefix="a")
    template.prefix = "b"
    template.save(author=alice)
    base = f"/templates/{template.code}/"
    pages = ["/templates/", "/templates/new/", "/templates/import/", base, f"{base}edit/"]
    pages += [f"{base}delete/", f"{base}revisions/", f"{base}revisions/1/"]
    pages += [f"{base}revisions/2/diff/"]

    for url in pages:
        html = alice_client.get(url).content.decode()
        assert "{#" not in html and "{%" not in html and "#}" not in html, url
