"""The pages promise "Try it offline" only where it works; DEMO_MODE makes it work when hosted.

A hosted instance has DEBUG off, so the simulator under /sim/ is off and private base URLs are
refused. With DEMO_MODE on, the simulator keys answer in-process (playground/providers/
inprocess.py), and a run streams with no loopback HTTP and no private base URL allowed.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.test import Client

from playground.accounts.models import User
from playground.http import aclose_client
from playground.keys.forms import CredentialForm
from playground.keys.models import SIMULATOR_SET, Credential
from playground.providers.inprocess import SIMULATOR_ORIGIN
from playground.runs.models import Run, RunStatus, Segment
from tests.runs.conftest import start_run
from tests.streams import event_names, read_stream

OFFER = "Try it offline"


@pytest.fixture
def hosted(settings: Any) -> Any:
    """Settings as on a hosted instance with DEBUG off: no /sim/, no private base URLs."""
    settings.SIMULATOR_ENABLED = False
    settings.ALLOW_PRIVATE_BASE_URLS = False
    settings.DEMO_MODE = False
    return settings


def _pages(alice_client: Client) -> dict[str, str]:
    return {
        "landing": Client().get("/").content.decode(),
        "keys": alice_client.get("/keys/").content.decode(),
        "compare": alice_client.get("/runs/").content.decode(),
    }


@pytest.mark.django_db
def test_a_hosted_instance_without_demo_mode_promises_no_offline_demo(
    hosted: Any, alice_client: Client, alice: User
) -> None:
    pages = _pages(alice_client)

    for name, page in pages.items():
        assert OFFER not in page, name
        assert "simulator" not in page.lower(), name
    assert "Bring your own keys" in pages["landing"]
    assert alice_client.post("/keys/add/simulator/").status_code == 404
    assert not Credential.objects.exists()


@pytest.mark.django_db
def test_the_simulator_is_not_offered_where_its_loopback_url_would_be_refused(
    hosted: Any, alice_client: Client
) -> None:
    hosted.SIMULATOR_ENABLED = True  # served under /sim/, but private base URLs are refused

    assert OFFER not in alice_client.get("/keys/").content.decode()
    assert alice_client.post("/keys/add/simulator/").status_code == 404


@pytest.mark.django_db
def test_demo_mode_offers_it_everywhere_and_adds_in_process_keys(
    hosted: Any, alice_client: Client, alice: User
) -> None:
    hosted.DEMO_MODE = True

    pages = _pages(alice_client)
    assert OFFER in pages["landing"] and OFFER in pages["keys"]
    assert "simulator" in pages["compare"].lower()  # "no API keys yet … add the demo keys"

    assert alice_client.post("/keys/add/simulator/").status_code == 302
    credentials = list(Credential.objects.for_user(alice))
    assert sorted(c.provider for c in credentials) == sorted(p for p, _ in SIMULATOR_SET)
    for credential in credentials:
        assert credential.base_url.startswith(f"{SIMULATOR_ORIGIN}/{credential.provider}")
        assert credential.is_simulator
    assert alice_client.get("/keys/").content.decode().count("badge-sim") >= len(SIMULATOR_SET)


@pytest.mark.django_db
def test_the_in_process_base_url_is_accepted_only_in_demo_mode(hosted: Any) -> None:
    data = {
        "provider": "deepseek",
        "label": "Simulator",
        "api_key": "sim-typed-by-hand",
        "base_url": f"{SIMULATOR_ORIGIN}/deepseek/beta",
    }
    refused = CredentialForm(data)
    assert not refused.is_valid()
    assert "https" in refused.errors["base_url"][0]

    hosted.DEMO_MODE = True
    assert CredentialForm(data).is_valid()
    # Anything else on the reserved host name is a name like any other: checked as usual.
    for other in ("http://simulator.internal:8080/v1", "http://user@simulator.internal/v1"):
        assert not CredentialForm({**data, "base_url": other}).is_valid()


@pytest.mark.django_db
def test_setup_demo_gives_in_process_keys_in_demo_mode(hosted: Any) -> None:
    hosted.DEMO_MODE = True
    out = StringIO()

    call_command("setup_demo", "--origin", "https://playground.example.com", stdout=out)

    demo = User.objects.get(username="demo")
    urls = [c.base_url for c in Credential.objects.for_user(demo)]
    assert len(urls) == len(SIMULATOR_SET)
    assert all(url.startswith(SIMULATOR_ORIGIN + "/") for url in urls)


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_demo_mode_streams_a_run_in_process(
    hosted: Any, async_client: Any, alice: User
) -> None:
    hosted.DEMO_MODE = True

    @sync_to_async
    def setup() -> Run:
        made = Credential.objects.add_simulator_set(alice, SIMULATOR_ORIGIN)
        by_provider = {c.provider: c for c in made}
        return start_run(
            alice,
            [(by_provider["deepseek"], "deepseek-chat"), (by_provider["anthropic"], "claude")],
            parameters={"max_tokens": 12},
        )

    run = await setup()
    await async_client.aforce_login(alice)
    try:
        body = await read_stream(async_client, run)
    finally:
        await aclose_client()

    events = event_names(body)
    assert "col-0-text" in events and "col-1-text" in events
    assert events[-1] == "run-done"

    @sync_to_async
    def saved() -> tuple[Run, list[Segment]]:
        run.refresh_from_db()
        segments = Segment.objects.filter(column__run=run).select_related("column")
        return run, list(segments.order_by("column__position"))

    run, segments = await saved()
    assert run.status == RunStatus.DONE
    assert [s.status for s in segments] == ["done", "done"]
    assert all(segment.text for segment in segments)
    assert all(segment.column.is_simulator for segment in segments)
