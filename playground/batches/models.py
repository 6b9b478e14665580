"""Input sets and batch runs. Every rule about them lives here, on the models and querysets.

- An input set belongs to a template and follows its access rules (prompts/models.py): whoever
  can see the template sees and runs its input sets; whoever can edit the template edits them.
  Saving changed contents records a revision, as a template does.
- A batch is one user's: a template revision x an input-set revision x 1-6 targets (that
  user's keys). Its cells (one per row and target) are executed by the worker (worker.py).
- A cell runs at most once per attempt, whatever the queue does: the worker *claims* it (one
  conditional UPDATE, under the user's lock) and holds a lease it renews; a cell whose lease
  expired (the worker died mid-request) is marked interrupted, never sent again by itself.
- Concurrency is bounded per user and per key at claim time, counting every running cell of
  the user across all their batches and worker processes (BATCH_CONCURRENCY_PER_USER,
  BATCH_CONCURRENCY_PER_KEY).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from playground.locks import Purpose, hold_user_lock
from playground.prompts.models import PrefixTemplate, TemplateRevision

MAX_TARGETS = 6


class InputSetQuerySet(models.QuerySet["InputSet"]):
    def visible_to(self, user: Any) -> InputSetQuerySet:
        """Return the input sets of templates `user` may see (and so run)."""
        return self.filter(template__in=PrefixTemplate.objects.visible_to(user))

    def editable_by(self, user: Any) -> InputSetQuerySet:
        """Return the input sets of templates `user` may edit."""
        return self.filter(template__in=PrefixTemplate.objects.editable_by(user))


class InputSet(models.Model):
    """A table of variable values for one template: columns are variable names."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    template = models.ForeignKey(
        PrefixTemplate, on_delete=models.CASCADE, related_name="input_sets"
    )
    name = models.CharField(max_length=120)
    columns = models.JSONField(default=list)
    rows = models.JSONField(default=list)  # [[value per column], ...]
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InputSetQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, author: Any = None, note: str = "", **kwargs: Any) -> None:
        """Save, and keep a revision whenever the table differs from the latest one."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            latest = self.revisions.order_by("-number").first()
            if latest is not None and (latest.columns, latest.rows) == (self.columns, self.rows):
                return
            InputSetRevision.objects.create(
                input_set=self,
                number=latest.number + 1 if latest else 1,
                columns=self.columns,
                rows=self.rows,
                author=author if author is not None and author.is_authenticated else None,
                note=note[:200],
            )

    def can_edit(self, user: Any) -> bool:
        return self.template.can_edit(user)

    @property
    def latest_revision(self) -> InputSetRevision | None:
        return self.revisions.order_by("-number").first()


class InputSetRevision(models.Model):
    """A snapshot of an input set's table; a batch runs one of these."""

    input_set = models.ForeignKey(InputSet, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    columns = models.JSONField(default=list)
    rows = models.JSONField(default=list)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["input_set", "number"], name="one_input_revision")
        ]

    def __str__(self) -> str:
        return f"{self.input_set} r{self.number}"


class BatchStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    DONE = "done", "Done"


class CellStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    INTERRUPTED = "interrupted", "Interrupted"
    STOPPED = "stopped", "Stopped"  # Stop pressed on the cell's run page; its text is kept


FINAL_CELL_STATUSES = (
    CellStatus.DONE,
    CellStatus.FAILED,
    CellStatus.CANCELLED,
    CellStatus.INTERRUPTED,
    CellStatus.STOPPED,
)
# What "Re-run failed" picks up again (and what the grid's failure filter shows).
RERUNNABLE = (
    CellStatus.FAILED,
    CellStatus.CANCELLED,
    CellStatus.INTERRUPTED,
    CellStatus.STOPPED,
)

STOPPED_MESSAGE = (
    "Stopped on its run page while it streamed; the text so far is kept. "
    "“Re-run failed” sends it again."
)

INTERRUPTED_MESSAGE = (
    "The worker running this cell stopped mid-request. It was not sent again by itself (the "
    "provider may have answered and billed it); use “Re-run failed” to try it again."
)


class BatchLimitReached(ValueError):
    """The user already has as many unfinished batches as the site allows."""


class BatchQuerySet(models.QuerySet["Batch"]):
    def for_user(self, user: Any) -> BatchQuerySet:
        return self.filter(user=user)

    def unfinished(self) -> BatchQuerySet:
        return self.filter(status__in=[BatchStatus.RUNNING, BatchStatus.PAUSED])

    def orphaned(self) -> BatchQuerySet:
        """Return running batches no worker drives (no driver lease renewed lately)."""
        cutoff = timezone.now() - timedelta(seconds=settings.BATCH_LEASE_SECONDS)
        return self.filter(status=BatchStatus.RUNNING).filter(
            Q(driver_heartbeat_at__isnull=True) | Q(driver_heartbeat_at__lt=cutoff)
        )


class Batch(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches"
    )
    template = models.ForeignKey(
        PrefixTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    template_name = models.CharField(max_length=200, blank=True)
    template_revision = models.ForeignKey(
        TemplateRevision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revision_number = models.PositiveIntegerField(default=0)
    # The template's contents as run (schema form), kept if the revision goes away.
    content = models.JSONField(default=dict)
    input_set = models.ForeignKey(
        InputSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    input_revision = models.ForeignKey(
        InputSetRevision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    input_set_name = models.CharField(max_length=120, blank=True)
    columns = models.JSONField(default=list)
    rows = models.JSONField(default=list)
    checks = models.JSONField(default=list, blank=True)  # [{"kind", "value"}]
    status = models.CharField(
        max_length=12, choices=BatchStatus.choices, default=BatchStatus.RUNNING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The driver lease: which worker process drives this batch and when it last said so.
    driver = models.CharField(max_length=64, blank=True)
    driver_heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Batch {self.code} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in (BatchStatus.DONE, BatchStatus.CANCELLED)

    def counts(self) -> dict[str, int]:
        """Return how many cells are in each status, plus total, finished and left."""
        found = dict(
            self.cells.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        counts = {status: found.get(status, 0) for status in CellStatus.values}
        counts["total"] = sum(found.values())
        counts["failed_all"] = sum(counts[s] for s in RERUNNABLE)
        counts["finished"] = counts["done"] + counts["failed_all"]
        counts["left"] = counts["pending"] + counts["running"]
        return counts

    def eta_seconds(self, counts: dict[str, int]) -> int | None:
        """Return an estimate of the seconds left, from the pace so far (None before any)."""
        if self.is_final or not counts["left"]:
            return None
        first = self.cells.exclude(started_at=None).order_by("started_at").first()
        finished = counts["finished"]
        if first is None or first.started_at is None or not finished:
            return None
        spent = (timezone.now() - first.started_at).total_seconds()
        return int(spent / finished * counts["left"])

    # ----- state changes (each one UPDATE guarded by the state it leaves) -----

    def pause(self) -> bool:
        return bool(
            Batch.objects.filter(pk=self.pk, status=BatchStatus.RUNNING).update(
                status=BatchStatus.PAUSED
            )
        )

    def resume(self) -> bool:
        return bool(
            Batch.objects.filter(pk=self.pk, status=BatchStatus.PAUSED).update(
                status=BatchStatus.RUNNING
            )
        )

    def cancel(self) -> bool:
        """Cancel: no cell is claimed from now on; waiting cells end cancelled at once.

        Cells already running are stopped by their worker, which polls the batch's status
        (worker.py); their upstream requests are closed and their text so far kept.
        """
        now = timezone.now()
        with transaction.atomic():
            changed = Batch.objects.filter(
                pk=self.pk, status__in=[BatchStatus.RUNNING, BatchStatus.PAUSED]
            ).update(status=BatchStatus.CANCELLED, cancelled_at=now, finished_at=now)
            if changed:
                self.cells.filter(status=CellStatus.PENDING).update(
                    status=CellStatus.CANCELLED,
                    finished_at=now,
                    changed_at=now,
                    error_message="Cancelled before it was sent.",
                )
        return bool(changed)

    def rerun_failed(self) -> int:
        """Queue the failed, cancelled and interrupted cells again; return how many."""
        now = timezone.now()
        with transaction.atomic():
            count = self.cells.filter(status__in=RERUNNABLE).update(
                status=CellStatus.PENDING,
                attempts=0,
                not_before=None,
                holder="",
                stop_requested=False,
                error_kind="",
                error_message="",
                changed_at=now,
            )
            if count:
                Batch.objects.filter(pk=self.pk).update(
                    status=BatchStatus.RUNNING, finished_at=None, cancelled_at=None
                )
        return count

    def finish_if_complete(self) -> bool:
        """Mark a running batch done once no cell waits or runs; return whether it did."""
        live = self.cells.filter(status__in=[CellStatus.PENDING, CellStatus.RUNNING])
        if live.exists():
            return False
        return bool(
            Batch.objects.filter(pk=self.pk, status=BatchStatus.RUNNING).update(
                status=BatchStatus.DONE, finished_at=timezone.now()
            )
        )

    def take_driver_lease(self, holder: str) -> bool:
        """Become this batch's driver if nobody else holds a live lease; return whether."""
        now = timezone.now()
        cutoff = now - timedelta(seconds=settings.BATCH_LEASE_SECONDS)
        free = Q(driver="") | Q(driver=holder) | Q(driver_heartbeat_at__lt=cutoff)
        free |= Q(driver_heartbeat_at__isnull=True)
        return bool(
            Batch.objects.filter(free, pk=self.pk).update(driver=holder, driver_heartbeat_at=now)
        )

    def release_driver_lease(self, holder: str) -> None:
        Batch.objects.filter(pk=self.pk, driver=holder).update(driver="", driver_heartbeat_at=None)

    def current_status(self) -> str:
        return Batch.objects.filter(pk=self.pk).values_list("status", flat=True).first() or ""


def start_batch(
    *,
    user: Any,
    template: PrefixTemplate,
    input_set: InputSet,
    targets: list[dict[str, Any]],
    checks: list[dict[str, str]],
) -> Batch:
    """Save a running batch with one waiting cell per (row, target); return it.

    Raise BatchLimitReached when the user already has BATCH_MAX_UNFINISHED_PER_USER
    unfinished batches. The caller has checked the table against the template and budget.
    """
    revision = template.revisions.order_by("-number").first()
    table = input_set.latest_revision
    with transaction.atomic():
        hold_user_lock(Purpose.BATCHES, user.pk)
        limit = settings.BATCH_MAX_UNFINISHED_PER_USER
        if Batch.objects.for_user(user).unfinished().count() >= limit:
            raise BatchLimitReached(
                f"You already have {limit} unfinished batches, the most this site allows "
                "(BATCH_MAX_UNFINISHED_PER_USER). Wait for one to finish, or cancel one."
            )
        batch = Batch.objects.create(
            user=user,
            template=template,
            template_name=template.name,
            template_revision=revision,
            revision_number=revision.number if revision else 0,
            content=template.content(),
            input_set=input_set,
            input_revision=table,
            input_set_name=input_set.name,
            columns=list(input_set.columns),
            rows=[list(row) for row in input_set.rows],
            checks=checks,
        )
        batch_targets = [
            BatchTarget.objects.create(
                batch=batch,
                position=position,
                credential=target["credential"],
                provider=target["credential"].provider,
                label=target["credential"].label,
                model=target["model"],
                overrides=target.get("overrides", {}),
            )
            for position, target in enumerate(targets)
        ]
        now = timezone.now()
        Cell.objects.bulk_create(
            Cell(
                batch=batch,
                target=target,
                row=index,
                variables=dict(zip(batch.columns, row, strict=True)),
                changed_at=now,
            )
            for index, row in enumerate(batch.rows)
            for target in batch_targets
        )
    return batch


class BatchTarget(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="targets")
    position = models.PositiveSmallIntegerField()
    credential = models.ForeignKey(
        "keys.Credential", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider = models.CharField(max_length=40)
    label = models.CharField(max_length=120, blank=True)
    model = models.CharField(max_length=200)
    overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="one_target_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.label or self.provider} · {self.model}"


class CellQuerySet(models.QuerySet["Cell"]):
    def live_for_user(self, user_id: int) -> CellQuerySet:
        return self.filter(batch__user_id=user_id, status=CellStatus.RUNNING)

    def claim(self, batch: Batch, holder: str, room: int) -> list[int]:
        """Take up to `room` waiting cells of `batch` for `holder`; return their ids.

        Under the user's lock: count the user's running cells (every batch, every worker) and
        each key's, then take cells in grid order that fit both caps. The UPDATE is guarded by
        the cell still waiting and the batch still running, so a cancel committed first means
        nothing more is claimed, and no cell is ever claimed twice.
        """
        if room <= 0:
            return []
        now = timezone.now()
        with transaction.atomic():
            hold_user_lock(Purpose.BATCHES, batch.user_id)
            live = self.live_for_user(batch.user_id)
            free = settings.BATCH_CONCURRENCY_PER_USER - live.count()
            per_key = dict(live.values_list("target__credential_id").annotate(n=Count("id")))
            if free <= 0:
                return []
            waiting = (
                self.filter(batch=batch, status=CellStatus.PENDING)
                .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
                .order_by("row", "target__position")
                .values_list("id", "target__credential_id")[: max(room, 1) * 8 + 50]
            )
            chosen: list[int] = []
            for cell_id, credential_id in waiting:
                if len(chosen) >= min(room, free):
                    break
                if per_key.get(credential_id, 0) >= settings.BATCH_CONCURRENCY_PER_KEY:
                    continue
                per_key[credential_id] = per_key.get(credential_id, 0) + 1
                chosen.append(cell_id)
            if not chosen:
                return []
            self.filter(
                pk__in=chosen, status=CellStatus.PENDING, batch__status=BatchStatus.RUNNING
            ).update(
                status=CellStatus.RUNNING,
                holder=holder,
                heartbeat_at=now,
                started_at=now,
                finished_at=None,
                stop_requested=False,
                attempts=F("attempts") + 1,
                changed_at=now,
            )
            return list(
                self.filter(pk__in=chosen, holder=holder, status=CellStatus.RUNNING).values_list(
                    "id", flat=True
                )
            )

    def request_stop(self, run_code: str) -> int:
        """Record a Stop pressed on a running cell's run (sync; one UPDATE); return how many.

        The worker streaming the cell sees it within its poll (worker.py) and stops the cell's
        relay. A cell that is not running (waiting for a retry, finished) is left alone. The
        flag is cleared when the cell is claimed again.
        """
        return self.filter(run__code=run_code, status=CellStatus.RUNNING).update(
            stop_requested=True
        )

    def stops_for(self, batch_pk: int, holder: str) -> list[int]:
        """Return the ids of `holder`'s running cells of the batch that someone stopped."""
        return list(
            self.filter(
                batch_id=batch_pk, holder=holder, status=CellStatus.RUNNING, stop_requested=True
            ).values_list("id", flat=True)
        )

    def beat(self, holder: str, ids: list[int]) -> int:
        """Renew `holder`'s lease on the cells it runs."""
        if not ids:
            return 0
        return self.filter(pk__in=ids, holder=holder, status=CellStatus.RUNNING).update(
            heartbeat_at=timezone.now()
        )

    def interrupt_abandoned(self) -> int:
        """Mark running cells whose lease expired interrupted (their worker is gone)."""
        now = timezone.now()
        cutoff = now - timedelta(seconds=settings.BATCH_LEASE_SECONDS)
        return self.filter(status=CellStatus.RUNNING, heartbeat_at__lt=cutoff).update(
            status=CellStatus.INTERRUPTED,
            error_kind="interrupted",
            error_message=INTERRUPTED_MESSAGE,
            finished_at=now,
            changed_at=now,
        )


class Cell(models.Model):
    """One input row sent to one target: a normal Run (one column) once it has started."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="cells")
    target = models.ForeignKey(BatchTarget, on_delete=models.CASCADE, related_name="cells")
    row = models.PositiveIntegerField()
    variables = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=CellStatus.choices, default=CellStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)  # backoff after a 429 or 5xx
    holder = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Stop was pressed on the cell's run page while it ran (CellQuerySet.request_stop).
    stop_requested = models.BooleanField(default=False)
    run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment = models.ForeignKey(
        "runs.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error_kind = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    # What the run page shows, copied here so the grid, summaries and exports read one table.
    finish_reason = models.CharField(max_length=40, blank=True)
    stop_sequence = models.CharField(max_length=200, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    checks = models.JSONField(default=list, blank=True)  # [true/false per batch check]
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    objects = CellQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "row", "target__position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row", "target"], name="one_cell_per_slot")
        ]
        indexes = [
            models.Index(fields=["batch", "status"], name="cell_batch_status"),
            models.Index(fields=["batch", "changed_at"], name="cell_batch_changed"),
            models.Index(
                fields=["status", "heartbeat_at"],
                name="cell_running",
                condition=Q(status="running"),
            ),
        ]

    def __str__(self) -> str:
        return f"Cell r{self.row} t{self.target_id} of batch {self.batch_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_CELL_STATUSES

    @property
    def is_failure(self) -> bool:
        return self.status in RERUNNABLE or (self.status == CellStatus.DONE and self.failed_check)

    @property
    def failed_check(self) -> bool:
        return any(result is False for result in self.checks or [])

    @property
    def tokens_per_second(self) -> float | None:
        if not self.output_tokens or self.elapsed_ms is None or self.ttft_ms is None:
            return None
        seconds = (self.elapsed_ms - self.ttft_ms) / 1000
        return round(self.output_tokens / seconds, 1) if seconds > 0 else None
