from __future__ import annotations

from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "playground.batches"
    label = "batches"
    verbose_name = "Batch runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from playground.runs.stops import stop_requested

        def record_stop(
            sender: object, code: str, positions: set[int] | None, **kwargs: object
        ) -> None:
            """A Stop of a batch cell's run (its one column, position 0) is kept on the cell,
            where the worker that streams it looks (worker.py): the worker hears no NOTIFY and
            shares no memory with the web process."""
            if positions is None or 0 in positions:
                from .models import Cell

                Cell.objects.request_stop(code)

        stop_requested.connect(record_stop, dispatch_uid="batches-record-stop", weak=False)
