"""The batch driver: runs one batch's cells in a worker process, a slice of time at a time.

One driver per batch at a time (the batch's driver lease), started by a queue task
(tasks.py). It loops every POLL seconds:
- reads the batch's status: on cancel it stops every cell in flight (their upstream requests
  are closed by the relay, their text so far saved as a stopped run), on pause it only stops
  claiming;
- stops the relay of each of its cells whose run someone stopped (Stop on the run page is
  recorded on the cell, models.CellQuerySet.request_stop; this process hears no NOTIFY): the
  upstream request is closed, the text so far saved, and the cell ends stopped;
- claims waiting cells up to the per-user and per-key caps (models.CellQuerySet.claim);
- every BATCH_LEASE_SECONDS / 4 renews its leases (batch, cells, run segments), saves each
  streaming cell's text so far on its segment (so its run page shows it) and marks cells
  whose worker died interrupted.
A cell runs exactly as a run streams on the run page: `plan_stream` claims its segment,
`relay_for` streams it through the site's upstream client (playground/http.py), `persist` saves
it. Then the cell is settled: done with its checks, failed, or (429, 503, 5xx before any text)
waiting again until a backoff that honours Retry-After, up to BATCH_MAX_ATTEMPTS.
After BATCH_SLICE_SECONDS the driver stops claiming, lets its cells finish and returns True
so the task queues the next slice: no task runs for long, and batches take turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from playground.http import aclose_client, get_client
from playground.prompts.budget import from_settings
from playground.providers import ErrorKind
from playground.runs import streaming
from playground.runs.live import LiveStream, process_id
from playground.runs.models import Run, Segment
from playground.runs.status import error_title

from . import checks as checks_module
from .cells import build_cell_run, row_problem
from .models import STOPPED_MESSAGE, Batch, BatchStatus, Cell, CellStatus

logger = logging.getLogger(__name__)

POLL = 0.2  # seconds between looks at the batch's status (cancel reaches cells within this)
LOCKED_RETRIES = 5
RETRYABLE = frozenset({ErrorKind.RATE_LIMIT, ErrorKind.OVERLOADED, ErrorKind.SERVER})
T = TypeVar("T")


def _db(function: Callable[..., T]) -> Callable[..., Any]:
    """Run a sync database function on the one database thread of this loop."""
    return sync_to_async(_unlocking(function), thread_sensitive=True)


def _unlocking(function: Callable[..., T]) -> Callable[..., T]:
    """Retry a step that SQLite refused with "database is locked" (several processes write).

    Every step is safe to repeat: each write is one transaction, guarded by the state it
    leaves. PostgreSQL waits for row locks instead, so this never triggers there.
    """

    def run(*args: Any, **kwargs: Any) -> T:
        for attempt in range(LOCKED_RETRIES):
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                if "locked" not in str(error) or attempt == LOCKED_RETRIES - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    return run


@dataclass
class Prepared:
    cell_id: int
    plan: streaming.StreamPlan | None  # None: the cell was settled before sending
    prefix: str = ""


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """Return the wait a Retry-After header asks for (seconds or an HTTP date), if any."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw[:6])
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(raw)
        return max(0.0, (when - timezone.now()).total_seconds())
    return None


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Return how long to wait before attempt `attempt + 1`: exponential, at least Retry-After."""
    base = settings.BATCH_BACKOFF_BASE_MS / 1000 * (2 ** max(0, attempt - 1))
    jittered = min(base, settings.BATCH_BACKOFF_MAX_SECONDS) * random.uniform(0.8, 1.2)
    return float(max(jittered, retry_after or 0.0))


# ----- sync steps (database thread) -----


def prepare_cell(cell_id: int, holder: str) -> Prepared:
    """Build (or requeue) the cell's run and claim its segment for streaming here."""
    close_old_connections()
    cell = Cell.objects.select_related("batch", "target", "target__credential").get(pk=cell_id)
    batch = cell.batch
    if cell.target.credential is None:
        _settle_failed(cell, holder, "unsupported", "The key this target used has been deleted.")
        return Prepared(cell_id, None)
    problem = row_problem(batch.content, cell.variables, from_settings(settings))
    if problem:
        _settle_failed(cell, holder, "bad_request", problem)
        return Prepared(cell_id, None)
    if cell.run_id is None:
        # One transaction whose first statement is a write (the run's INSERT): on SQLite a
        # transaction that reads first can fail at once when it upgrades to writing.
        with transaction.atomic():
            run = build_cell_run(
                user=batch.user,
                template=batch.template,
                content=batch.content,
                values=cell.variables,
                target=cell.target,
            )
            Cell.objects.filter(pk=cell_id).update(run=run)
    else:
        run = Run.objects.get(pk=cell.run_id)
        run.columns.get(position=0).retry(0)  # its own transaction, starting with a DELETE
        run.reopen()
    plan = streaming.plan_stream(run.pk)  # closes the connection
    return Prepared(cell_id, plan, run.prefix)


def _settle_failed(cell: Cell, holder: str, kind: str, message: str) -> None:
    now = timezone.now()
    Cell.objects.filter(pk=cell.pk, holder=holder).update(
        status=CellStatus.FAILED,
        error_kind=kind,
        error_message=message,
        finished_at=now,
        changed_at=now,
        holder="",
    )


def settle_cell(prepared: Prepared, outcome: Any, holder: str) -> None:
    """Record how the cell's attempt ended: done, failed, cancelled, or waiting to retry."""
    close_old_connections()
    try:
        _settle(prepared, outcome, holder)
    finally:
        connection.close()


def _settle(prepared: Prepared, outcome: Any, holder: str) -> None:
    assert prepared.plan is not None
    cell = Cell.objects.select_related("batch", "target").get(pk=prepared.cell_id)
    assert cell.run_id is not None  # prepare_cell gave it its run before the plan
    segment = Segment.objects.filter(column__run_id=cell.run_id, column__position=0).first()
    now = timezone.now()
    fields: dict[str, Any] = {"finished_at": now, "changed_at": now, "holder": ""}
    if segment is not None:
        fields.update(
            segment=segment,
            finish_reason=segment.finish_reason,
            stop_sequence=segment.stop_sequence,
            input_tokens=segment.input_tokens,
            output_tokens=segment.output_tokens,
            ttft_ms=segment.ttft_ms,
            elapsed_ms=segment.elapsed_ms,
            cost=segment.cost,
            currency=segment.currency,
        )
    error = outcome.error
    if outcome.stopped and cell.stop_requested:
        fields.update(
            status=CellStatus.STOPPED, error_kind="stopped", error_message=STOPPED_MESSAGE
        )
    elif outcome.stopped:
        fields.update(
            status=CellStatus.CANCELLED,
            error_kind="stopped",
            error_message="Cancelled while it streamed; the text so far is kept.",
        )
    elif error is not None:
        title = error_title(str(error.kind))
        message = f"{title} {error.message}".strip()
        retry_after = retry_after_seconds(outcome.recorder.response_headers)
        retryable = error.kind in RETRYABLE and not outcome.text and not cell.stop_requested
        too_long = retry_after is not None and retry_after > settings.BATCH_RETRY_AFTER_MAX_SECONDS
        if retryable and cell.attempts < settings.BATCH_MAX_ATTEMPTS and not too_long:
            wait = backoff_seconds(cell.attempts, retry_after)
            not_before = now + timedelta(seconds=wait)
            fields.update(
                status=CellStatus.PENDING,
                not_before=not_before,
                finished_at=None,
                error_kind=str(error.kind),
                error_message=f"Attempt {cell.attempts} of {settings.BATCH_MAX_ATTEMPTS}: "
                f"{message} Retrying in {wait:.1f} s.",
            )
            credential_id = cell.target.credential_id
            if error.kind == ErrorKind.RATE_LIMIT and retry_after and credential_id is not None:
                # Retry-After speaks for the key: its other waiting cells wait as long.
                Cell.objects.filter(
                    batch_id=cell.batch_id,
                    target__credential_id=credential_id,
                    status=CellStatus.PENDING,
                ).filter(Q(not_before__isnull=True) | Q(not_before__lt=not_before)).update(
                    not_before=not_before
                )
        else:
            if too_long:
                message += (
                    f" The provider asked to wait {retry_after:.0f} s, longer than this site "
                    f"waits ({settings.BATCH_RETRY_AFTER_MAX_SECONDS} s)."
                )
            elif retryable:
                message += f" Gave up after {cell.attempts} attempts."
            fields.update(
                status=CellStatus.FAILED, error_kind=str(error.kind), error_message=message
            )
    else:
        text = segment.text if segment is not None else ""
        results = checks_module.evaluate_all(
            checks_module.from_dicts(cell.batch.checks), prepared.prefix, text
        )
        fields.update(status=CellStatus.DONE, error_kind="", error_message="", checks=results)
    # Whatever a sweep decided meanwhile (a late heartbeat), the attempt's real end wins.
    Cell.objects.filter(pk=cell.pk, holder=holder).update(**fields)


def claim(batch_pk: int, holder: str, room: int) -> list[int]:
    close_old_connections()
    batch = Batch.objects.get(pk=batch_pk)
    return Cell.objects.claim(batch, holder, room)


def heartbeat(
    batch_pk: int, holder: str, cell_ids: list[int], texts: dict[int, tuple[str, str]]
) -> None:
    """Renew every lease this driver holds and save `texts` (segment id: text, reasoning so
    far); mark cells of dead workers interrupted."""
    close_old_connections()
    Batch.objects.filter(pk=batch_pk, driver=holder).update(driver_heartbeat_at=timezone.now())
    Cell.objects.beat(holder, cell_ids)
    Segment.objects.beat(holder, texts)
    Cell.objects.interrupt_abandoned()


@dataclass
class BatchState:
    status: str
    live: bool  # cells wait or run
    backoff: float | None  # seconds until the next backoff ends
    stops: list[int]  # this driver's running cells whose run someone stopped


def batch_state(batch_pk: int, holder: str = "") -> BatchState:
    """Return the batch's status, whether it has work left, and the Stops for `holder`."""
    close_old_connections()
    batch = Batch.objects.get(pk=batch_pk)
    live = batch.cells.filter(status__in=[CellStatus.PENDING, CellStatus.RUNNING])
    waiting = batch.cells.filter(status=CellStatus.PENDING).exclude(not_before=None)
    soonest = waiting.order_by("not_before").values_list("not_before", flat=True).first()
    wait = (soonest - timezone.now()).total_seconds() if soonest else None
    stops = Cell.objects.stops_for(batch_pk, holder) if holder else []
    return BatchState(batch.status, live.exists(), wait, stops)


def finish(batch_pk: int) -> None:
    close_old_connections()
    Batch.objects.get(pk=batch_pk).finish_if_complete()


def take_lease(batch_pk: int, holder: str) -> bool:
    close_old_connections()
    batch = Batch.objects.filter(pk=batch_pk).first()
    if batch is None or batch.status != BatchStatus.RUNNING:
        return False
    return batch.take_driver_lease(holder)


def release_lease(batch_pk: int, holder: str) -> None:
    close_old_connections()
    Batch.objects.get(pk=batch_pk).release_driver_lease(holder)
    connection.close()


# ----- the async driver -----


class Driver:
    def __init__(self, batch_pk: int, slice_seconds: float | None = None) -> None:
        self.batch_pk = batch_pk
        self.holder = process_id()
        self.slice = slice_seconds if slice_seconds is not None else settings.BATCH_SLICE_SECONDS
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.relays: dict[int, Any] = {}
        self.streams: dict[int, LiveStream] = {}  # what the heartbeat saves the text of
        self.stopped: set[int] = set()  # cells whose run someone stopped
        self.cancelled = False

    async def run(self) -> bool:
        """Drive the batch for one slice; return whether another slice should be queued."""
        if not await self._lease():
            return False
        try:
            return await self._loop()
        finally:
            for task in self.tasks.values():
                task.cancel()
            if self.tasks:
                await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            await _db(release_lease)(self.batch_pk, self.holder)
            await aclose_client()

    async def _lease(self) -> bool:
        """Take the driver lease, waiting out a dead driver's (a worker killed mid-batch)."""
        give_up = time.monotonic() + settings.BATCH_LEASE_SECONDS * 2 + 1
        while time.monotonic() < give_up:
            if await _db(take_lease)(self.batch_pk, self.holder):
                return True
            state = await _db(batch_state)(self.batch_pk)
            if state.status != BatchStatus.RUNNING:
                return False
            await asyncio.sleep(POLL * 2)
        return False  # another driver is alive and renewing: it has the batch

    async def _loop(self) -> bool:
        ends = time.monotonic() + self.slice
        every = settings.BATCH_LEASE_SECONDS / 4
        next_beat = 0.0
        while True:
            state = await _db(batch_state)(self.batch_pk, self.holder if self.tasks else "")
            status, live, backoff = state.status, state.live, state.backoff
            if status == BatchStatus.CANCELLED and not self.cancelled:
                self.cancelled = True
                for relay in self.relays.values():
                    relay.stop()
            for cell_id in set(state.stops) - self.stopped:
                self.stopped.add(cell_id)  # a cell whose relay is not made yet: see _cell
                if cell_id in self.relays:
                    self.relays[cell_id].stop()
            claiming = status == BatchStatus.RUNNING and time.monotonic() < ends
            if claiming:
                room = settings.BATCH_CONCURRENCY_PER_USER - len(self.tasks)
                for cell_id in await _db(claim)(self.batch_pk, self.holder, room):
                    self.tasks[cell_id] = asyncio.create_task(self._cell(cell_id))
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + every
                texts: dict[int, tuple[str, str]] = {}
                for stream in self.streams.values():  # read on the loop that appends to them
                    texts.update(stream.unsaved_texts())
                await _db(heartbeat)(self.batch_pk, self.holder, list(self.tasks), texts)
            if not self.tasks:
                if status != BatchStatus.RUNNING:
                    return False
                if not live:
                    await _db(finish)(self.batch_pk)
                    return False
                if not claiming:
                    return True  # the slice is over: queue the next one
            pause = POLL if backoff is None or backoff <= 0 else min(POLL * 5, backoff)
            if self.tasks:
                await asyncio.wait(list(self.tasks.values()), timeout=POLL)
            else:
                await asyncio.sleep(pause)

    async def _cell(self, cell_id: int) -> None:
        try:
            prepared = await _db(prepare_cell)(cell_id, self.holder)
            if prepared.plan is None:
                return
            relay = streaming.relay_for(prepared.plan, get_client)
            self.relays[cell_id] = relay
            self.streams[cell_id] = LiveStream(str(prepared.plan.run.code), relay, prepared.plan)
            if self.cancelled or cell_id in self.stopped:
                relay.stop()
            try:
                frames = cast("AsyncGenerator[str, None]", relay.frames())  # an async generator
                async with contextlib.aclosing(frames):
                    async for _frame in frames:
                        pass
            finally:
                self.relays.pop(cell_id, None)
                self.streams.pop(cell_id, None)
                await asyncio.shield(_db(streaming.persist)(prepared.plan, relay.outcomes))
            outcome = relay.outcomes[0]
            await asyncio.shield(_db(settle_cell)(prepared, outcome, self.holder))
        except asyncio.CancelledError:
            raise
        except Exception:  # one cell's bug must not take the batch down
            logger.exception("Batch cell %s failed unexpectedly", cell_id)
            await _db(_fail_unexpected)(cell_id, self.holder)
        finally:
            self.tasks.pop(cell_id, None)
            self.stopped.discard(cell_id)


def _fail_unexpected(cell_id: int, holder: str) -> None:
    close_old_connections()
    cell = Cell.objects.get(pk=cell_id)
    _settle_failed(cell, holder, "protocol", "Something went wrong while running this cell.")


def drive(batch_pk: int, slice_seconds: float | None = None) -> bool:
    """Drive a batch for one slice in a fresh event loop (sync entry point for the queue)."""
    try:
        return asyncio.run(Driver(batch_pk, slice_seconds).run())
    finally:
        connection.close()
