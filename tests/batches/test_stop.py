"""Stop on a batch cell's run page reaches the worker that streams it (another process).

The web process and the worker share only the database: on SQLite nothing else, and on
PostgreSQL the worker does not listen for NOTIFY. The Stop is recorded on the cell and the
worker's poll stops the cell's relay, which closes the upstream request and keeps the text.
Both ways the page can send a Stop are pressed: the plain Django view (the whole run) and the
page's token path answered in ASGI (the column's Stop button).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.test import Client
from django.urls import reverse

from playground.batches.models import STOPPED_MESSAGE, Batch, BatchStatus, Cell, CellStatus
from playground.runs import stream_endpoint
from playground.runs.models import Segment, SegmentStatus
from tests.batches.conftest import (
    Sim,
    Worker,
    launch,
    make_credential,
    make_input_set,
    story_template,
    wait_finished,
)
from tests.factories import make_user
from tests.waiting import HANG_GUARD, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# ~2000 tokens at 20 a second: a cell would stream for minutes unless it is stopped.
SLOW_MODEL = "deepseek-chat-long-tps20"


def _records_of(sim: Sim, row: int) -> list[dict[str, Any]]:
    marker = f"seed number {row:04d}"
    return [
        record
        for record in sim.requests()
        if marker
        in " ".join(
            str(m.get("content", "")) for m in (record.get("body") or {}).get("messages", [])
        )
    ]


def _streamed_text(cell: Cell) -> str:
    """Return the text the worker's heartbeat has saved on the cell's segment so far."""
    cell.refresh_from_db()
    if cell.status != CellStatus.RUNNING or cell.run_id is None:
        return ""
    segment = Segment.objects.filter(column__run_id=cell.run_id, column__position=0).first()
    return segment.text if segment is not None and segment.status == "running" else ""


async def _site(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What playground/asgi.py does with a request (without its lifespan and simulator)."""
    if not await stream_endpoint.handle(scope, receive, send):
        await get_asgi_application()(scope, receive, send)


async def _token_stop(path: str, token: str, session: str) -> int:
    """POST the page's htmx Stop with its token, as the button does; return the status."""
    headers = {
        "host": "testserver",
        "cookie": f"sessionid={session}",
        "hx-request": "true",
        "origin": "http://testserver",
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": f"t={token}".encode(),
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(_site, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=HANG_GUARD)
    while (await communicator.receive_output(timeout=HANG_GUARD)).get("more_body"):
        pass
    await communicator.wait(timeout=HANG_GUARD)
    return int(start["status"])


def _assert_stopped(cell: Cell, before: str, sim: Sim) -> None:
    cell.refresh_from_db()
    assert cell.status == CellStatus.STOPPED
    assert cell.error_message == STOPPED_MESSAGE
    assert cell.attempts == 1  # not retried
    segment = Segment.objects.get(column__run_id=cell.run_id, column__position=0)
    assert segment.status == SegmentStatus.STOPPED
    assert segment.text.startswith(before) and len(segment.text) >= len(before) > 0
    assert cell.segment_id == segment.pk
    records = _records_of(sim, cell.row)
    assert len(records) == 1
    assert records[0]["disconnected_at_wall"] and not records[0]["completed"]


def test_stop_on_a_cell_run_page_stops_it_in_the_worker(sim: Sim, worker: Worker) -> None:
    sim.clear()
    user = make_user("hopper")
    template = story_template(user, max_tokens=None)
    key = make_credential(user, sim)
    batch = launch(user, template, make_input_set(template, 2), [(key, SLOW_MODEL)])
    first, second = Cell.objects.filter(batch=batch).order_by("row")
    before = {
        cell.row: wait_until(lambda cell=cell: _streamed_text(cell), f"text of row {cell.row}")
        for cell in (first, second)
    }
    client = Client()
    client.force_login(user)

    # The whole run's Stop, through Django's view (a plain form post).
    assert first.run is not None
    response = client.post(reverse("runs:stop", args=[first.run.code]))
    assert response.status_code == 302
    wait_until(lambda: Cell.objects.get(pk=first.pk).status != CellStatus.RUNNING, "row 0 to end")
    _assert_stopped(first, before[0], sim)
    second.refresh_from_db()
    assert second.status == CellStatus.RUNNING  # a Stop ends that cell only

    # The column's Stop button on the run page: an htmx post with the page's stream token.
    assert second.run is not None
    page = client.get(reverse("runs:detail", args=[second.run.code])).content.decode()
    path = f"/runs/{second.run.code}/columns/0/stop/"
    tokens = re.findall(rf'hx-post="{path}\?t=([^"]+)"', page)
    assert tokens, "the running cell's page offers the column's Stop"
    status = asyncio.run(_token_stop(path, tokens[0], str(client.cookies["sessionid"].value)))
    assert status == 204
    wait_until(lambda: Cell.objects.get(pk=second.pk).status != CellStatus.RUNNING, "row 1 to end")
    _assert_stopped(second, before[1], sim)

    # No cell is left, so the batch is done; both count as not done and can be re-run.
    batch = wait_finished(batch)
    assert batch.status == BatchStatus.DONE
    counts = batch.counts()
    assert counts["stopped"] == 2 and counts["done"] == 0
    assert counts["failed_all"] == 2 and counts["finished"] == 2 and counts["left"] == 0
    grid = client.get(reverse("batches:detail", args=[batch.code])).content.decode()
    assert grid.count('data-cell data-status="stopped"') == 2
    assert "Re-run 2 failed" in grid


def test_re_run_failed_sends_stopped_cells_again_without_their_stop(
    sim: Sim, worker: Worker
) -> None:
    sim.clear()
    user = make_user("lamarr")
    template = story_template(user, max_tokens=None)
    key = make_credential(user, sim)
    batch = launch(user, template, make_input_set(template, 1), [(key, SLOW_MODEL)])
    cell = Cell.objects.get(batch=batch)
    wait_until(lambda: _streamed_text(cell), "text of the cell")
    client = Client()
    client.force_login(user)
    assert cell.run is not None
    client.post(reverse("runs:stop_column", args=[cell.run.code, 0]))
    wait_until(lambda: Batch.objects.get(pk=batch.pk).status == BatchStatus.DONE, "the stop")
    cell.refresh_from_db()
    assert cell.status == CellStatus.STOPPED and cell.stop_requested

    response = client.post(reverse("batches:rerun_failed", args=[batch.code]))
    assert response.status_code == 302
    # Sent again: a second request, and the old Stop does not end it.
    wait_until(lambda: len(_records_of(sim, 0)) == 2, "the cell to be sent again")
    wait_until(lambda: _streamed_text(cell), "text of the re-run")
    cell.refresh_from_db()
    assert cell.status == CellStatus.RUNNING and not cell.stop_requested
    assert cell.attempts == 1
    # Cancelling the batch now ends the cell cancelled, not stopped.
    assert Batch.objects.get(pk=batch.pk).cancel()
    wait_until(lambda: Cell.objects.get(pk=cell.pk).status != CellStatus.RUNNING, "the cancel")
    cell.refresh_from_db()
    assert cell.status == CellStatus.CANCELLED
