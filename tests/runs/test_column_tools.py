"""A column's own tools: downloads (.txt, .json without the key) and the Rendered view."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from playground.runs.models import Run, Segment
from playground.runs.rendering import render_markdown
from tests.keys.factories import make_credential
from tests.runs.conftest import start_run
from tests.runs.test_tools import SECRET, finished_run  # noqa: F401 - a fixture

HX = {"HX-Request": "true"}
PAYLOAD = "<img src=x onerror=\"document.title='pwned'\">"


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_downloads_the_text_and_the_exchange_without_the_key(
    finished_run: Run,  # noqa: F811
    alice: Any,
) -> None:
    client = _client(alice)
    column = finished_run.columns.prefetch_related("segments").get(position=0)
    text = client.get(f"/runs/{finished_run.code}/columns/0/download.txt")
    assert text.status_code == 200
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert text["Content-Disposition"].startswith('attachment; filename="run-')
    assert text.content.decode() == column.full_text == "```python\n" + column.text

    exported = client.get(f"/runs/{finished_run.code}/columns/0/download.json")
    assert exported.status_code == 200 and exported["Content-Type"] == "application/json"
    assert exported["Content-Disposition"].endswith('-deepseek-chat.json"')
    raw = exported.content.decode()
    assert SECRET not in raw
    data = json.loads(raw)
    assert data["continuation"] == column.text
    assert data["prompt"]["prefix"] == "```python\n"
    part = data["parts"][0]
    assert part["request"] == column.segment_list[0].request_dump  # what Inspect shows
    assert part["request"]["url"].endswith("/deepseek/beta/chat/completions")
    assert part["response_raw"].startswith("data: ")
    assert "credential" not in raw and "api_key" not in raw


def test_downloads_are_the_owners_only(finished_run: Run, charlie: Any) -> None:  # noqa: F811
    for kind in ("txt", "json"):
        url = f"/runs/{finished_run.code}/columns/0/download.{kind}"
        assert _client(charlie).get(url).status_code == 404
    assert Client().get(f"/runs/{finished_run.code}/columns/0/download.txt").status_code == 302


@pytest.mark.django_db
def test_an_unknown_download_type_is_not_found(alice_client: Client, alice: Any) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])
    assert alice_client.get(f"/runs/{run.code}/columns/0/download.html").status_code == 404
    assert alice_client.get(f"/runs/{run.code}/columns/9/download.txt").status_code == 404


def test_markdown_escapes_html_and_highlights_fenced_code() -> None:
    html = render_markdown(
        f"Intro {PAYLOAD} **bold** [x](javascript:alert(1)) ![i](https://e.test/i.png)\n\n"
        f"```html\n{PAYLOAD}\n```\n\n```\nplain {PAYLOAD}\n```\n"
    )
    tags = _tags(html)
    assert {tag for tag, _ in tags} <= {"p", "strong", "a", "pre", "code", "span"}
    attributes = {name: value for _, attrs in tags for name, value in attrs}
    assert set(attributes) <= {"class", "href", "rel"}
    assert all(value and not value.startswith("javascript") for value in attributes.values())
    assert "&lt;img src=x onerror=" in html  # the text, shown as text
    assert "<strong>bold</strong>" in html
    assert (
        '<pre class="highlight"><code><span class="p">&lt;</span><span class="nt">img</span>'
        in html
    )
    assert "plain &lt;img" in html  # a fence without a language: escaped, not highlighted


@pytest.mark.django_db
def test_the_rendered_view_waits_for_the_column_to_end(alice_client: Client, alice: Any) -> None:
    run = start_run(
        alice, [(make_credential(alice), "deepseek-chat")], prefix=f"# Title {PAYLOAD}\n"
    )
    url = f"/runs/{run.code}/columns/0/rendered/"
    assert "still streaming" in alice_client.get(url, headers=HX).content.decode()
    Segment.objects.filter(column__run=run).update(status="done", text="\n```js\nlet a = 1\n```\n")
    body = alice_client.get(url, headers=HX).content.decode()
    assert '<div class="markdown-body"><h1>Title &lt;img' in body
    assert '<span class="kd">let</span>' in body
    assert "<img" not in body
