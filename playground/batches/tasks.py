"""The task queue's side of batches (django-q2, ORM broker: the site's own database).

Why django-q2: it needs nothing the deploy does not already have. Its ORM broker keeps the
queue in the site's database (PostgreSQL in production, SQLite under `make run`), so there is no
Redis or second service to provision, and one `worker` process runs it (Procfile). The queue
delivers a task at least once; exactly-once *cells* come from our own tables (models.py: claim
and lease), so a task delivered twice, or re-queued after a restart, runs nothing twice.

- `drive_batch` drives one batch for one slice (worker.py) and queues the next slice while
  work remains.
- `resume_batches` (scheduled every minute, and run when the worker starts) queues a driver
  for every running batch that no live driver holds: work survives a dead worker or a lost
  task.
"""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task

from . import worker
from .models import Batch, BatchStatus, Cell

DRIVE = "playground.batches.tasks.drive_batch"
RESUME = "playground.batches.tasks.resume_batches"


def enqueue(batch_pk: int) -> None:
    """Queue a driver for the batch (now; call after the batch's rows are committed)."""
    async_task(DRIVE, batch_pk, group="batches")


def enqueue_on_commit(batch_pk: int) -> None:
    transaction.on_commit(lambda: enqueue(batch_pk))


def drive_batch(batch_pk: int) -> str:
    more = worker.drive(batch_pk)
    if more:
        enqueue(batch_pk)
    return "next slice queued" if more else "stopped"


def resume_batches(*, everything: bool = False) -> int:
    """Mark cells of dead workers interrupted; queue a driver per orphaned running batch."""
    Cell.objects.interrupt_abandoned()
    batches = Batch.objects.filter(status=BatchStatus.RUNNING) if everything else None
    pks = list(
        (batches if batches is not None else Batch.objects.orphaned()).values_list("pk", flat=True)
    )
    for pk in pks:
        enqueue(pk)
    return len(pks)
