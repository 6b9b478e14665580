"""Mark runs left "running" by a restart as interrupted (release phase and `make run`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from playground.runs.models import Run, Segment


class Command(BaseCommand):
    help = (
        "Mark runs still marked running as interrupted. By default only runs older than the "
        "longest a run can stream (RUN_TOTAL_TIMEOUT plus a minute), which no live process can "
        "still be streaming; --all marks every one (when no web process is up)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Mark every running run.")

    def handle(self, *args: Any, **options: Any) -> None:
        swept = Segment.objects.interrupt_abandoned()  # expired leases, unopened runs
        if swept:
            self.stdout.write(f"Swept {swept} abandoned segment{'s' if swept != 1 else ''}.")
        if options["all"]:
            runs = Run.objects.live()
        else:
            runs = Run.objects.stale(timedelta(seconds=settings.RUN_TOTAL_TIMEOUT + 60))
        count = runs.mark_interrupted()
        self.stdout.write(f"Marked {count} interrupted run{'s' if count != 1 else ''}.")
