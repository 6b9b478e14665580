"""One prompt with every part set survives the whole trip exactly.

Editor -> save -> revision -> export -> import -> compare form -> run request -> Continue. The
pages are read as a browser reads them (a textarea drops one newline right after its tag, line
breaks are posted as \\r\\n), and the run request is checked twice: as the provider layer's
input (the CompletionRequest, every part) and as the bytes the simulator received (what a
fill-in-the-middle request carries: prefix, suffix, stops and parameters).
"""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from playground.accounts.models import User
from playground.prompts.models import PrefixTemplate
from playground.providers.base import Turn
from playground.providers.prompt import Parameters, Prompt, Variable
from playground.runs.models import Run, Segment
from playground.runs.streaming import completion_request
from tests.runs.conftest import Sim, make_sim_credential
from tests.streams import read_stream

LITERAL_BACKSLASH_N = "\\n"  # a stop of two characters: a backslash and an n
EVERY_PART = Prompt(
    system="You write {{lang}}.\n",
    turns=(
        Turn("user", "\nFix this {{lang}}:\n", ("https://example.com/{{lang}}.png",)),
        Turn("assistant", "Which part? "),
    ),
    prefix="```{{lang}}\ndef middle(x):\n    ",  # trailing whitespace, kept
    reasoning_prefix="First, ",
    suffix="\n    return x\n```\n",
    stop=(LITERAL_BACKSLASH_N, "\n", "```"),
    parameters=Parameters(temperature=0.3, max_tokens=64, top_p=0.9),
    speaker_name="Ada",
    variables=(Variable("lang", "python", "The language"),),
)
# What a run sends: every {{lang}} filled in with its default, nothing else changed.
RENDERED = Prompt(
    system="You write python.\n",
    turns=(
        Turn("user", "\nFix this python:\n", ("https://example.com/python.png",)),
        Turn("assistant", "Which part? "),
    ),
    prefix="```python\ndef middle(x):\n    ",
    reasoning_prefix="First, ",
    suffix="\n    return x\n```\n",
    stop=(LITERAL_BACKSLASH_N, "\n", "```"),
    parameters=Parameters(temperature=0.3, max_tokens=64, top_p=0.9),
    speaker_name="Ada",
)


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def _typed_in_the_editor() -> dict[str, str]:
    """Return the editor form as a person types it and a browser posts it."""
    return {
        "name": "Every part",
        "description": "",
        "category": "fim",
        "tags": "round-trip",
        "system": _crlf("You write {{lang}}.\n"),
        "prefix": _crlf("```{{lang}}\ndef middle(x):\n    "),
        "reasoning_prefix": "First, ",
        "speaker_name": "Ada",
        "suffix": _crlf("\n    return x\n```\n"),
        # The documented escapes: \\n is a backslash and an n, \n a newline.
        "stop": "\\\\n\r\n\\n\r\n```",
        "temperature": "0.3",
        "max_tokens": "64",
        "top_p": "0.9",
        "visibility": "private",
        "team": "",
        "turns-0-role": "user",
        "turns-0-content": _crlf("\nFix this {{lang}}:\n"),
        "turns-0-images": "https://example.com/{{lang}}.png",
        "turns-1-role": "assistant",
        "turns-1-content": "Which part? ",
        "turns-1-images": "",
        "var-lang-default": "python",
        "var-lang-description": "The language",
    }


class FormReader(HTMLParser):
    """Reads the fields of one form as a browser would submit them."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = attr.get("id") == self.form_id
        if not self.inside or not attr.get("name") and tag != "option":
            return
        if tag == "textarea":
            self._textarea, self._text = attr["name"], []
        elif tag == "input" and attr.get("type", "text") not in ("file", "submit", "button"):
            if attr.get("type") != "checkbox" or "checked" in attr:
                self.fields.append((attr["name"], attr.get("value", "")))
        elif tag == "select":
            self._select, self._first_option, self._selected = attr["name"], None, None
        elif tag == "option" and self._select is not None:
            value = attr.get("value", "")
            self._first_option = value if self._first_option is None else self._first_option
            if "selected" in attr:
                self._selected = value

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            value = "".join(self._text)
            # A browser drops one newline right after <textarea>, and posts \r\n line breaks.
            value = value.removeprefix("\n")
            self.fields.append((self._textarea, _crlf(value)))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            self.fields.append((self._select, self._selected or self._first_option or ""))
            self._select = None
        elif tag == "form":
            self.inside = False


def _form_fields(html: str, form_id: str) -> dict[str, str]:
    reader = FormReader(form_id)
    reader.feed(html)
    return dict(reader.fields)


def _through_the_pages(user: User, sim: Sim) -> tuple[Run, dict[str, Any]]:
    """Walk the prompt from the editor to a started run; assert it is intact at every step."""
    client = Client()
    client.force_login(user)

    # Editor -> save.
    response = client.post("/templates/new/", _typed_in_the_editor())
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = PrefixTemplate.objects.get(owner=user)
    assert saved.prompt == EVERY_PART

    # Shown in the editor again and saved unchanged: no new revision.
    editor = client.get(f"/templates/{saved.code}/edit/").content.decode()
    again = _form_fields(editor, "editor-form")
    assert client.post(f"/templates/{saved.code}/edit/", again).status_code == 302
    saved.refresh_from_db()
    assert saved.prompt == EVERY_PART

    # Revision.
    (revision,) = saved.revisions.all()
    assert Prompt.from_json(revision.content) == EVERY_PART

    # Export -> import.
    exported = client.get(f"/templates/{saved.code}/export/")
    document = json.loads(exported.content.decode())
    assert Prompt.from_json(document["templates"][0]) == EVERY_PART
    imported_page = client.post("/templates/import/", {"text": exported.content.decode()})
    assert imported_page.status_code == 302
    imported = PrefixTemplate.objects.filter(owner=user).exclude(pk=saved.pk).get()
    assert imported.prompt == EVERY_PART

    # The compare form, as the page shows it and a browser posts it back.
    credential = make_sim_credential(user, sim, "deepseek")
    page = client.get(f"/runs/?template={imported.code}").content.decode()
    posted = _form_fields(page, "compare-form")
    assert posted["stop"] == "\\\\n\r\n\\n\r\n```"  # the stops, in the one codec
    assert posted["default-lang"] == "python" and posted["var-lang"] == ""
    posted.update({"t0-credential": str(credential.code), "t0-model": "deepseek-chat"})
    posted = {key: value for key, value in posted.items() if not key.startswith("t1-")}
    started = client.post("/runs/new/", posted)
    assert started.status_code == 302, started.content.decode()[:3000]
    run = Run.objects.get(user=user)
    assert run.prompt == RENDERED
    assert run.template == imported and run.variables == {}
    return run, posted


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_a_prompt_with_every_part_survives_the_whole_trip(
    async_client: Any, alice: User, sim: Sim
) -> None:
    run, _ = await sync_to_async(_through_the_pages)(alice, sim)

    # The run request: the provider layer's input, every part exact.
    @sync_to_async
    def first_request() -> Any:
        column = run.columns.get()
        return completion_request(run, column, column.segments.get())

    request = await first_request()
    assert request == RENDERED.request("deepseek-chat")

    # ...and the bytes the provider got (fill in the middle: prefix, suffix, stops, parameters).
    before = len(sim.app.requests)
    await async_client.aforce_login(alice)
    await read_stream(async_client, run)
    (record,) = sim.app.requests[before:]
    assert record.path == "/deepseek/beta/completions"
    assert record.body["prompt"] == RENDERED.prefix
    assert record.body["suffix"] == RENDERED.suffix
    assert record.body["stop"] == [LITERAL_BACKSLASH_N, "\n", "```"]
    assert (record.body["temperature"], record.body["max_tokens"], record.body["top_p"]) == (
        0.3,
        64,
        0.9,
    )

    # Continue: the column stopped at its token limit, and goes on from its full text.
    @sync_to_async
    def press_continue() -> tuple[str, Any]:
        segment = Segment.objects.get(column__run=run)
        assert segment.status == "done", (segment.status, segment.error_message)
        Segment.objects.filter(pk=segment.pk).update(finish_reason="length")
        client = Client()
        client.force_login(alice)
        response = client.post(f"/runs/{run.code}/columns/0/continue/")
        assert response.status_code == 302
        column = run.columns.get()
        latest = column.segments.order_by("-index").first()
        assert latest is not None and latest.index == 1
        return segment.text, completion_request(run, column, latest)

    text, continued = await press_continue()
    expected = RENDERED.continued(RENDERED.prefix + text, RENDERED.reasoning_prefix)
    assert continued == expected.request("deepseek-chat")
    assert replace(continued, prefix=RENDERED.prefix) == request  # only the prefix moved on

    before = len(sim.app.requests)
    await read_stream(async_client, run)
    (record,) = sim.app.requests[before:]
    assert record.body["prompt"] == RENDERED.prefix + text
    assert record.body["suffix"] == RENDERED.suffix
    assert record.body["stop"] == [LITERAL_BACKSLASH_N, "\n", "```"]
