"""No run stays `running` without a live stream: leases, heartbeat, sweep, drain, stop channel.

Each streaming process holds a lease on the segments it streams (`Segment.holder`,
`heartbeat_at`); the sweep marks segments whose lease expired, or whose stream was never opened
within the grace period, interrupted. Expiry is simulated by moving timestamps back, never by
sleeping, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from playground.accounts.models import User
from playground.runs import background, live, stops
from playground.runs.models import Run, RunLimitReached, RunStatus, Segment, SegmentStatus
from tests.keys.factories import make_credential
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import AsgiStream, event_names, session_cookie

SLOW_MODEL = "deepseek-chat-long-tps20"


def _segment(run: Run) -> Segment:
    return Segment.objects.get(column__run=run)


@pytest.mark.django_db
def test_a_claim_takes_the_lease_in_one_statement_and_only_once(alice: User) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])

    claimed = run.claim_pending_segments("111-holder")
    again = run.claim_pending_segments("222-other")

    segment = _segment(run)
    assert claimed == [segment.pk] and again == []
    assert (segment.status, segment.holder) == (SegmentStatus.RUNNING, "111-holder")
    assert segment.started_at == segment.heartbeat_at is not None


@pytest.mark.django_db
def test_a_heartbeat_renews_its_own_leases_and_saves_text_so_far(alice: User) -> None:
    credential = make_credential(alice)
    mine, theirs = (start_run(alice, [(credential, "deepseek-chat")]) for _ in range(2))
    mine.claim_pending_segments("me")
    theirs.claim_pending_segments("them")
    old = timezone.now() - timedelta(minutes=5)
    Segment.objects.update(heartbeat_at=old)

    renewed = Segment.objects.beat("me", {_segment(mine).pk: ("Once upon", "thinking")})

    assert renewed == 1
    saved, other = _segment(mine), _segment(theirs)
    assert (saved.text, saved.reasoning) == ("Once upon", "thinking")
    assert saved.heartbeat_at is not None and saved.heartbeat_at > old
    assert other.heartbeat_at == old and other.text == ""


@pytest.mark.django_db
def test_a_heartbeat_saves_any_text_exactly(alice: User) -> None:
    credential = make_credential(alice)
    runs = [start_run(alice, [(credential, "deepseek-chat")]) for _ in range(2)]
    for run in runs:
        run.claim_pending_segments("me")
    tricky = 'He said "hi" \\ \\u0041 {"a": [1]}\nnaïve — 😀 \t\r end\\'
    texts = {_segment(runs[0]).pk: (tricky, "'; DROP"), _segment(runs[1]).pk: ("", "only why")}

    assert Segment.objects.beat("me", texts) == 2

    assert (_segment(runs[0]).text, _segment(runs[0]).reasoning) == (tricky, "'; DROP")
    assert (_segment(runs[1]).text, _segment(runs[1]).reasoning) == ("", "only why")


@pytest.mark.django_db
def test_an_expired_lease_is_interrupted_with_its_text_and_offers_continue_and_retry(
    alice: User, alice_client: Client, settings: Any
) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 1
    credential = make_credential(alice)
    run = start_run(alice, [(credential, "deepseek-chat")])
    run.claim_pending_segments("dead-process")
    Segment.objects.beat("dead-process", {_segment(run).pk: ("def quicksort(", "")})
    with pytest.raises(RunLimitReached):
        start_run(alice, [(credential, "deepseek-chat")])
    expired = timezone.now() - timedelta(seconds=settings.RUN_LEASE_SECONDS + 1)
    Segment.objects.update(heartbeat_at=expired)

    page = alice_client.get(reverse("runs:detail", args=[run.code])).content.decode()

    segment = _segment(run)
    run.refresh_from_db()
    assert segment.status == SegmentStatus.INTERRUPTED
    assert segment.text == "def quicksort("
    assert run.status == RunStatus.INTERRUPTED
    assert "def quicksort(" in page
    assert "the server streaming this column went away" in page
    assert reverse("runs:continue", args=[run.code, 0]) in page
    assert reverse("runs:retry", args=[run.code, 0, 0]) in page
    start_run(alice, [(credential, "deepseek-chat")])  # the user can run again


@pytest.mark.django_db
def test_continue_after_an_interruption_continues_from_the_saved_text(
    alice: User, alice_client: Client
) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")], prefix="```python\n")
    run.claim_pending_segments("dead-process")
    Segment.objects.beat("dead-process", {_segment(run).pk: ("def f(", "")})
    Segment.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))
    Segment.objects.interrupt_abandoned()

    alice_client.post(reverse("runs:continue", args=[run.code, 0]), HTTP_HX_REQUEST="true")

    queued = Segment.objects.get(column__run=run, index=1)
    assert queued.prefix == "```python\ndef f("
    assert queued.status == SegmentStatus.PENDING


@pytest.mark.django_db
def test_a_live_lease_is_left_alone(alice: User, settings: Any) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])
    run.claim_pending_segments("alive")
    Segment.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=1))

    assert Segment.objects.interrupt_abandoned() == 0
    assert _segment(run).status == SegmentStatus.RUNNING


@pytest.mark.django_db
def test_a_run_never_streamed_stops_counting_after_the_grace_period(
    alice: User, alice_client: Client, settings: Any
) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 1
    settings.RUN_UNOPENED_GRACE_SECONDS = 5
    credential = make_credential(alice)
    unopened = start_run(alice, [(credential, "deepseek-chat")])
    with pytest.raises(RunLimitReached):  # within the grace period it still counts
        start_run(alice, [(credential, "deepseek-chat")])
    Segment.objects.update(created_at=timezone.now() - timedelta(seconds=6))

    fresh = start_run(alice, [(credential, "deepseek-chat")])

    unopened.refresh_from_db()
    assert unopened.status == RunStatus.INTERRUPTED
    assert _segment(unopened).status == SegmentStatus.INTERRUPTED
    assert fresh.status == RunStatus.RUNNING
    page = alice_client.get(reverse("runs:detail", args=[unopened.code])).content.decode()
    assert "stream was never opened" in page
    assert reverse("runs:retry", args=[unopened.code, 0, 0]) in page


@pytest.mark.django_db
def test_history_and_compare_pages_sweep_too(alice: User, alice_client: Client) -> None:
    credential = make_credential(alice)
    for url in (reverse("runs:history"), reverse("runs:compare")):
        run = start_run(alice, [(credential, "deepseek-chat")])
        run.claim_pending_segments("gone")
        Segment.objects.filter(column__run=run).update(heartbeat_at=timezone.now() - timedelta(1))
        alice_client.get(url)
        run.refresh_from_db()
        assert run.status == RunStatus.INTERRUPTED, url


async def _open_stream(run: Run, cookie: str) -> AsgiStream:
    """Open `run`'s stream through the ASGI app and read until its text has begun."""
    stream = AsgiStream(run, cookie)
    assert await stream.open(timeout=10) == 200
    await stream.read_until_count("col-0-text", 3, timeout=10)
    return stream


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_the_heartbeat_saves_a_live_columns_text_so_far(alice: User, sim: Sim) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        return start_run(alice, [(credential, SLOW_MODEL)]), session_cookie(alice)

    run, cookie = await setup()
    stream = await _open_stream(run, cookie)
    current = await background.ensure_running()

    await current.beat_now()

    segment = await sync_to_async(_segment)(run)
    assert segment.status == SegmentStatus.RUNNING
    assert segment.holder == live.process_id()
    assert segment.text and stream.text().startswith(segment.text[:20])
    await stream.disconnect(timeout=10)


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_draining_saves_the_columns_interrupted_and_ends_the_stream_for_a_replay(
    alice: User, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        return start_run(alice, [(credential, SLOW_MODEL)]), session_cookie(alice)

    run, cookie = await setup()
    stream = await _open_stream(run, cookie)

    background.drain()  # what SIGTERM does (playground/asgi.py installs it)
    body = await stream.read_to_end(timeout=30)

    events = event_names(body)
    assert "col-0-text" in events
    assert "run-done" not in events  # the browser reconnects instead of closing
    assert "col-0-end" not in events
    segment = await sync_to_async(_segment)(run)
    assert segment.status == SegmentStatus.INTERRUPTED
    assert segment.text.startswith(stream.text()) and segment.text
    await sync_to_async(run.refresh_from_db)()
    assert run.status == RunStatus.INTERRUPTED
    # The reconnect replays the saved state.
    replay = AsgiStream(run, cookie)
    assert await replay.open(timeout=10) == 200
    await replay.read_to_end(timeout=30)
    assert "run-done" in event_names(replay.body) and b"Interrupted" in replay.body


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_a_stop_from_outside_this_process_reaches_the_relay(alice: User, sim: Sim) -> None:
    """PostgreSQL: a NOTIFY sent on a connection of its own (as another process would) stops
    the stream through this process's listener. SQLite has one process: Stop from another
    thread (a sync view) reaches the relay through the in-process registry."""

    @sync_to_async
    def setup() -> tuple[Run, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        return start_run(alice, [(credential, SLOW_MODEL)]), session_cookie(alice)

    run, cookie = await setup()
    stream = await _open_stream(run, cookie)

    def press_stop() -> None:
        if connection.vendor == "postgresql":
            import psycopg

            payload = json.dumps({"run": str(run.code), "columns": None})
            with psycopg.connect(autocommit=True, **stops._connection_params()) as conn:
                conn.execute("SELECT pg_notify(%s, %s)", [stops.CHANNEL, payload])
        else:
            stops.request_stop(str(run.code))
        connection.close()

    thread = threading.Thread(target=press_stop)
    thread.start()
    body = await stream.read_to_end(timeout=30)
    thread.join(timeout=10)

    assert {"col-0-end", "run-done"} <= set(event_names(body))
    segment = await sync_to_async(_segment)(run)
    assert segment.status == SegmentStatus.STOPPED
    assert segment.text.startswith(stream.text())


def test_a_malformed_stop_notification_is_ignored(caplog: Any) -> None:
    stops.handle("not json")
    stops.handle(json.dumps({"columns": [1]}))
    assert caplog.text.count("malformed stop notification") == 2
    asyncio.run(asyncio.sleep(0))  # nothing scheduled anywhere


class _RecordingRelay:
    def __init__(self) -> None:
        self.stops: list[set[int] | None] = []

    def request_stop(self, indexes: set[int] | None = None) -> None:
        self.stops.append(indexes)


def _listener_pids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s",
            ["playground-stop-listener"],
        )
        pids = {row[0] for row in cursor.fetchall()}
    connection.close()
    return pids


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_the_stop_listener_reconnects_after_its_connection_drops() -> None:
    """PostgreSQL: the listener's connection is killed server-side; it reconnects and a Stop
    sent afterwards still arrives. SQLite has no other process to hear from: no listener."""
    current = await background.ensure_running()
    names = {task.get_name() for task in current.tasks}
    if connection.vendor != "postgresql":
        assert "run-stop-listener" not in names
        return
    assert "run-stop-listener" in names
    before = await _until(lambda: _listener_pids(), "a listening connection")

    def terminate() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(before)]
            )
        connection.close()

    await sync_to_async(terminate)()
    await _until(lambda: _listener_pids() - before, "the listener to reconnect")

    relay = _RecordingRelay()
    stream = live.LiveStream("run-under-test", relay, None)  # type: ignore[arg-type]
    live.register(stream)
    try:

        def notify() -> None:
            payload = json.dumps({"run": "run-under-test", "columns": [1]})
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [stops.CHANNEL, payload])
            connection.close()

        await sync_to_async(notify)()
        await _until(lambda: relay.stops, "the stop to arrive", in_thread=False)
    finally:
        live.unregister(stream)
    assert relay.stops == [{1}]


async def _until(condition: Any, what: str, *, in_thread: bool = True, guard: float = 60) -> Any:
    """Return the first truthy value of `condition()`, polled; fail after `guard` s (a hang)."""
    deadline = asyncio.get_running_loop().time() + guard
    while asyncio.get_running_loop().time() < deadline:
        value = await sync_to_async(condition)() if in_thread else condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"Gave up waiting for {what} after {guard:.0f} s.")
