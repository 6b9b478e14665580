"""The site as the Procfile runs it: Stop, dead workers and SIGTERM across processes.

PostgreSQL (CI runs the whole suite on it, .ci/run): uvicorn with two worker processes, DEBUG
off, no Redis. Stop is pressed on a connection served by the worker that does *not* stream
the run, so it can only arrive through the stop channel (LISTEN/NOTIFY): a connection's
worker is learnt by streaming a short run on it and reading the lease holder, then Stop goes
out on that same keep-alive connection.

SQLite is one process by design (docs/streaming.md): there is no other worker for a Stop to
land on, so the same scenarios run against one uvicorn process, which still proves Stop over
fresh HTTP connections, a `kill -9` swept by the next sweep, and SIGTERM draining.

Nothing here is timed against a bound (the machine may be busy); each wait has a generous hang
guard, and the Stop latencies are written to test-artifacts/stop-latency.txt.
bench/stop_latency.py measures them under load.
"""

from __future__ import annotations

import html
import os
import signal
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from playground.accounts.models import User
from playground.keys.models import Credential
from playground.providers import simulator_base_url
from playground.runs.models import Run, RunStatus, Segment, SegmentStatus
from tests.factories import make_user
from tests.production_site import Site, post_headers, production_site, session_cookie
from tests.runs.conftest import start_run
from tests.streams import FrameReader

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = "deepseek-chat-long-tps20"  # ~2000 tokens at 20 a second: streams for minutes
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
REPEATS = 20


def _workers() -> int:
    return 2 if connection.vendor == "postgresql" else 1


def _wait(condition: Callable[[], Any], what: str, guard: float = 60.0) -> Any:
    """Return the first truthy value of `condition()`; fail after `guard` seconds (a hang)."""
    deadline = time.monotonic() + guard
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"Gave up waiting for {what} after {guard:.0f} s.")


class Reader(threading.Thread):
    """Reads a run's event stream like EventSource, noting when each event arrived."""

    def __init__(self, site: Site, run: Run, cookie: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{site.url}/runs/{run.code}/stream/"
        self.cookie = cookie
        self.events: list[tuple[float, str, str]] = []  # (monotonic, event, data)
        self.finished = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=120.0)
            headers = {"Cookie": self.cookie}
            with httpx.stream("GET", self.url, headers=headers, timeout=timeout) as response:
                reader = FrameReader()
                for chunk in response.iter_text():
                    at = time.monotonic()
                    self.events += [(at, frame.event, frame.data) for frame in reader.feed(chunk)]
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            self.finished.set()

    def count(self, event: str) -> int:
        return sum(1 for _, name, _ in self.events if name == event)

    def arrived(self, event: str) -> float | None:
        return next((at for at, name, _ in self.events if name == event), None)

    def text(self, column: int) -> str:
        return html.unescape(
            "".join(data for _, name, data in self.events if name == f"col-{column}-text")
        )


def _member(site: Site, name: str, columns: int) -> tuple[User, str, list[Credential]]:
    user = make_user(name)
    credentials = []
    for index in range(columns):
        credential = Credential(
            user=user,
            provider="deepseek",
            label=f"sim {index}",
            base_url=simulator_base_url("deepseek", f"{site.url}/sim"),
        )
        credential.set_key(f"sim-multi-{name}-{index}")
        credential.save()
        credentials.append(credential)
    return user, session_cookie(user), credentials


def _holder_pid(run: Run) -> int | None:
    holders = set(Segment.objects.filter(column__run=run).values_list("holder", flat=True))
    holders.discard("")
    return int(holders.pop().split("-", 1)[0]) if len(holders) == 1 else None


def _worker_of(client: httpx.Client, site: Site, user: User, credential: Credential) -> int:
    """Return the pid of the worker serving `client`'s connection: stream a tiny run on it."""
    probe = start_run(user, [(credential, "deepseek-chat")], parameters={"max_tokens": 2})
    answer = client.get(f"{site.url}/runs/{probe.code}/stream/")
    assert answer.status_code == 200 and "run-done" in answer.text
    pid = _holder_pid(probe)
    assert pid is not None
    return pid


@pytest.fixture
def _many_runs(settings: Any) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 1000  # this process starts the probe runs too


def _stop_once(site: Site, user: User, cookie: str, credentials: list[Credential]) -> float:
    """Stream a two-column run, press Stop from the other worker; return the Stop's latency."""
    run = start_run(user, [(credentials[0], SLOW), (credentials[1], SLOW)])
    reader = Reader(site, run, cookie)
    reader.start()
    _wait(
        lambda: (
            min(reader.count("col-0-text"), reader.count("col-1-text")) >= 2
            or reader.finished.is_set()
        ),
        "text in both columns",
    )
    assert reader.error is None and not reader.finished.is_set(), reader.error
    streaming_in = _wait(lambda: _holder_pid(run), "the lease holder")

    for _ in range(200):  # fresh connections until one lands on the other worker
        with httpx.Client(headers={"Cookie": cookie}, timeout=30) as client:
            answered_by = _worker_of(client, site, user, credentials[0])
            if _workers() > 1 and answered_by == streaming_in:
                continue
            pressed = time.monotonic()
            answer = client.post(f"{site.url}/runs/{run.code}/stop/", headers=post_headers(cookie))
            assert answer.status_code == 204
            # The same keep-alive connection, so the same worker answered the Stop.
            assert _worker_of(client, site, user, credentials[0]) == answered_by
            break
    else:
        raise AssertionError("200 fresh connections all landed on one worker.")
    if _workers() > 1:
        assert answered_by != streaming_in

    assert reader.finished.wait(60), "the run still streams a minute after Stop"
    assert reader.error is None, reader.error
    ends = [reader.arrived(f"col-{i}-end") for i in (0, 1)]
    assert None not in ends and reader.count("run-done") == 1
    run.refresh_from_db()
    assert run.status == RunStatus.STOPPED
    for column in run.columns.order_by("position"):
        segment = column.segments.get()
        assert segment.status == SegmentStatus.STOPPED
        streamed = reader.text(column.position)
        assert streamed and segment.text.startswith(streamed)
    return max(end for end in ends if end is not None) - pressed


@pytest.mark.usefixtures("_many_runs")
def test_stop_reaches_runs_streaming_in_the_other_worker(db: None) -> None:
    with production_site(_workers()) as site:
        user, cookie, credentials = _member(site, "stopper", 2)
        latencies = [_stop_once(site, user, cookie, credentials) for _ in range(REPEATS)]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "stop-latency.txt").write_text(
        f"{connection.vendor}, {_workers()} worker(s), {REPEATS} Stops, seconds from Stop to "
        f"the last col-*-end: median {statistics.median(latencies):.3f}, "
        f"max {max(latencies):.3f}\n" + "\n".join(f"{value:.3f}" for value in latencies) + "\n"
    )


@pytest.mark.usefixtures("_many_runs")
def test_a_killed_worker_leaves_its_runs_interrupted_with_their_text(settings: Any) -> None:
    with production_site(_workers()) as site:
        user, cookie, credentials = _member(site, "killed", 1)
        run = start_run(user, [(credentials[0], SLOW)])
        reader = Reader(site, run, cookie)
        reader.start()
        _wait(lambda: reader.count("col-0-text") >= 3, "streamed text")
        # The heartbeat saves the text so far every RUN_LEASE_SECONDS / 4.
        _wait(lambda: Segment.objects.get(column__run=run).text, "text saved by a heartbeat")
        holder = _holder_pid(run)
        assert holder in site.workers()

        os.kill(holder, signal.SIGKILL)
        killed_at = time.monotonic()
        sweeping_here = _workers() == 1  # one process (SQLite): nobody else is left to sweep

        def interrupted() -> bool:
            if sweeping_here:  # what the next page load or run start does
                Segment.objects.interrupt_abandoned()
            status = Segment.objects.get(column__run=run).status
            return bool(status == SegmentStatus.INTERRUPTED)

        # PostgreSQL: nothing here sweeps; the surviving worker's periodic sweep does it.
        _wait(interrupted, "the dead worker's segment to be marked interrupted")
        swept_after = time.monotonic() - killed_at

        segment = Segment.objects.get(column__run=run)
        run.refresh_from_db()
        assert run.status == RunStatus.INTERRUPTED
        # Saved at the last heartbeat: the browser may have seen up to a beat more, or the
        # few milliseconds of text the relay was still gathering into its next frame less.
        seen = reader.text(0)
        assert segment.text and seen
        shorter = min(len(segment.text), len(seen))
        assert segment.text[:shorter] == seen[:shorter]
        settings.MAX_CONCURRENT_RUNS_PER_USER = 1
        fresh = start_run(user, [(credentials[0], "deepseek-chat")], parameters={"max_tokens": 3})
        if _workers() > 1:  # the surviving worker streams the new run
            answer = httpx.get(
                f"{site.url}/runs/{fresh.code}/stream/", headers={"Cookie": cookie}, timeout=60
            )
            assert "run-done" in answer.text
            fresh.refresh_from_db()
            assert fresh.status == RunStatus.DONE
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "kill-sweep.txt").write_text(
        f"{connection.vendor}: kill -9 to interrupted in {swept_after:.1f} s\n"
    )


@pytest.mark.usefixtures("_many_runs")
def test_sigterm_saves_the_streams_interrupted_and_ends_them_for_a_reconnect(db: None) -> None:
    with production_site(_workers()) as site:
        user, cookie, credentials = _member(site, "deployed", 1)
        run = start_run(user, [(credentials[0], SLOW)])
        reader = Reader(site, run, cookie)
        reader.start()
        _wait(lambda: reader.count("col-0-text") >= 3, "streamed text")

        site.process.send_signal(signal.SIGTERM)  # a deploy: the platform stops the dyno

        assert reader.finished.wait(30), "the stream outlived SIGTERM"
        # uvicorn shuts down cleanly, then re-raises the signal it caught.
        assert site.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert reader.count("run-done") == 0  # EventSource reconnects and replays
        segment = Segment.objects.get(column__run=run)
        run.refresh_from_db()
        assert segment.status == SegmentStatus.INTERRUPTED
        assert run.status == RunStatus.INTERRUPTED
        streamed = reader.text(0)
        assert streamed and segment.text.startswith(streamed)
