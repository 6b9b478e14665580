"""Run the batch worker: recover what a previous worker left, then the django-q2 cluster."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections
from django_q.models import Schedule

from playground.batches.tasks import RESUME, resume_batches


class Command(BaseCommand):
    help = "Run the batch worker (django-q2 cluster) after queueing every unfinished batch."

    def handle(self, *args: Any, **options: Any) -> None:
        queued = resume_batches(everything=True)
        Schedule.objects.update_or_create(
            name="resume-batches",
            defaults={
                "func": RESUME,
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
        self.stdout.write(f"Batch worker: {queued} unfinished batch(es) queued.")
        # The cluster forks: no connection of this process may be inherited by its children.
        connections.close_all()
        call_command("qcluster")
