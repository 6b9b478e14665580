"""The per-user caps hold under concurrency: runs (start, rerun, Continue, Retry) and probes.

Thirty threads, each on its own database connection, start runs for one user at the same
moment; the cap is enforced under the user's lock (playground/locks.py), so exactly `cap` of
them get a run. Runs on SQLite (writers serialised by its write lock) and on PostgreSQL (an
advisory lock), through the same code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from playground.keys.models import Credential, ProbeSlot
from playground.runs.models import Run, RunLimitReached, RunStatus, SegmentStatus
from tests.keys.factories import make_credential
from tests.runs.conftest import start_run

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 30


def _all_at_once(work: Callable[[], Any], count: int = THREADS) -> list[Any]:
    """Run `work` in `count` threads released together; return each result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = work()
        except Exception as error:  # the outcome under test, kept for the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a start hung"
    return results


def test_thirty_concurrent_starts_with_a_cap_of_three_create_exactly_three(
    alice: User, settings: Any
) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 3
    credential = make_credential(alice)

    results = _all_at_once(lambda: start_run(alice, [(credential, "deepseek-chat")]))

    runs = [result for result in results if isinstance(result, Run)]
    refused = [result for result in results if isinstance(result, RunLimitReached)]
    assert len(runs) == 3, results
    assert len(refused) == THREADS - 3, [r for r in results if not isinstance(r, Run)]
    assert Run.objects.filter(user=alice).count() == 3
    assert "You already have 3 runs streaming" in str(refused[0])


def test_the_cap_is_per_user(alice: User, charlie: User, settings: Any) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 1
    start_run(alice, [(make_credential(alice), "deepseek-chat")])
    start_run(charlie, [(make_credential(charlie), "deepseek-chat")])
    with pytest.raises(RunLimitReached):
        start_run(alice, [(make_credential(alice, label="second"), "deepseek-chat")])


def test_continue_and_retry_take_a_slot_under_the_cap(alice: User, settings: Any) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 1
    client = Client()
    client.force_login(alice)
    credential = make_credential(alice)
    finished = start_run(alice, [(credential, "deepseek-chat")])
    segment = finished.columns.get().segments.get()
    segment.status, segment.text = SegmentStatus.DONE, "some text"
    segment.save()
    finished.refresh_status()
    start_run(alice, [(credential, "deepseek-chat")])  # the one live run allowed

    response = client.post(
        reverse("runs:retry", args=[finished.code, 0, 0]), HTTP_HX_REQUEST="true"
    )

    assert "runs streaming" in response.content.decode()
    finished.refresh_from_db()
    assert finished.status == RunStatus.DONE
    assert finished.columns.get().segments.get().text == "some text"  # nothing was dropped


def test_concurrent_rerun_requests_respect_the_cap(alice: User, settings: Any) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 2
    credential = make_credential(alice)
    source = start_run(alice, [(credential, "deepseek-chat")])
    Run.objects.filter(pk=source.pk).update(status=RunStatus.DONE)

    def rerun() -> int:
        client = Client()
        client.force_login(alice)
        return client.post(reverse("runs:rerun", args=[source.code])).status_code

    statuses = _all_at_once(rerun, count=12)

    assert sorted(statuses).count(302) == 2, statuses
    assert statuses.count(409) == 10, statuses
    assert Run.objects.filter(user=alice).live().count() == 2


def test_concurrent_probe_slots_stop_at_the_probe_cap(alice: User, settings: Any) -> None:
    settings.MAX_CONCURRENT_PROBES_PER_USER = 2

    slots = _all_at_once(lambda: ProbeSlot.objects.take(alice), count=20)

    assert len([slot for slot in slots if isinstance(slot, ProbeSlot)]) == 2, slots
    assert slots.count(None) == 18
    assert ProbeSlot.objects.filter(user=alice).count() == 2


def test_a_probe_over_the_cap_is_refused_with_a_message_and_sends_nothing(
    alice_client: Client, alice: User, settings: Any
) -> None:
    settings.MAX_CONCURRENT_PROBES_PER_USER = 1
    credential: Credential = make_credential(alice)
    ProbeSlot.objects.take(alice)  # a probe in flight elsewhere

    response = alice_client.post(
        reverse("keys:probe", args=[credential.code]),
        {"model": "deepseek-chat"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "You already have 1 probes running" in response.content.decode()
    assert not credential.probes.exists()
    assert ProbeSlot.objects.filter(user=alice).count() == 1  # the refused one took none
