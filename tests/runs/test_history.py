"""History, permalinks, re-run, and runs left running by a restart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from playground.prompts.models import PrefixTemplate
from playground.runs.models import Run, RunStatus, Segment
from tests.keys.factories import make_credential
from tests.runs.conftest import start_run

pytestmark = pytest.mark.django_db


def _finish(run: Run, text: str = "def f(): pass") -> None:
    Segment.objects.filter(column__run=run).update(status="done", text=text, finish_reason="stop")
    run.refresh_status()


def test_it_lists_only_my_runs_newest_first(alice_client: Client, alice: Any, charlie: Any) -> None:
    mine = make_credential(alice)
    first = start_run(alice, [(mine, "deepseek-chat")], prefix="first prefix")
    second = start_run(alice, [(mine, "deepseek-chat")], prefix="second prefix")
    start_run(charlie, [(make_credential(charlie), "deepseek-chat")], prefix="charlie's")
    body = alice_client.get("/runs/history/").content.decode()
    assert body.index("second prefix") < body.index("first prefix")
    assert "charlie" not in body
    assert str(first.code) in body and str(second.code) in body


def test_it_filters_by_template_provider_and_date(alice_client: Client, alice: Any) -> None:
    template = PrefixTemplate(name="Opener", owner=alice, prefix="Once")
    template.save()
    deepseek = make_credential(alice)
    mistral = make_credential(alice, provider="mistral", label="M")
    old = start_run(alice, [(deepseek, "deepseek-chat")], prefix="old one")
    Run.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    with_template = start_run(alice, [(mistral, "mistral-small-latest")], prefix="templated")
    Run.objects.filter(pk=with_template.pk).update(template=template)

    by_template = alice_client.get(f"/runs/history/?template={template.code}").content.decode()
    assert "templated" in by_template and "old one" not in by_template
    by_provider = alice_client.get("/runs/history/?provider=deepseek").content.decode()
    assert "old one" in by_provider and "templated" not in by_provider
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    recent = alice_client.get(f"/runs/history/?since={since}").content.decode()
    assert "templated" in recent and "old one" not in recent
    partial = alice_client.get("/runs/history/?provider=mistral", headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()


def test_it_shows_a_finished_run_on_its_permalink(alice_client: Client, alice: Any) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")], prefix="```python\n")
    _finish(run, "def quick_sort(xs):\n    return sorted(xs)\n```")
    body = alice_client.get(f"/runs/{run.code}/").content.decode()
    assert "def quick_sort(xs):" in body
    assert "sse-connect" not in body  # nothing left to stream
    assert "1 done" in body


def test_it_hides_a_run_from_everyone_else(client: Client, alice: Any, bob: Any) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])
    client.force_login(bob)  # same team: still not his run
    assert client.get(f"/runs/{run.code}/").status_code == 404
    assert client.post(f"/runs/{run.code}/stop/").status_code == 404
    assert client.post(f"/runs/{run.code}/rerun/").status_code == 404
    assert client.post(f"/runs/{run.code}/columns/0/stop/").status_code == 404


def test_it_reruns_with_the_same_prompt_and_targets(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice)
    run = start_run(alice, [(credential, "deepseek-chat"), (credential, "deepseek-reasoner")])
    _finish(run)
    response = alice_client.post(f"/runs/{run.code}/rerun/")
    new = Run.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{new.code}/"
    assert new.prefix == run.prefix and new.turns == run.turns
    assert [c.model for c in new.columns.order_by("position")] == [
        "deepseek-chat",
        "deepseek-reasoner",
    ]
    assert Segment.objects.filter(column__run=new, status="pending").count() == 2


def test_it_marks_runs_left_running_as_interrupted(alice: Any) -> None:
    credential = make_credential(alice)
    stale = start_run(alice, [(credential, "deepseek-chat")])
    Run.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=1))
    fresh = start_run(alice, [(credential, "deepseek-chat")])

    call_command("mark_interrupted_runs")
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == RunStatus.INTERRUPTED
    assert Segment.objects.get(column__run=stale).status == "interrupted"
    assert fresh.status == RunStatus.RUNNING

    call_command("mark_interrupted_runs", "--all")
    fresh.refresh_from_db()
    assert fresh.status == RunStatus.INTERRUPTED
