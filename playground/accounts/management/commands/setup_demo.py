"""Create (or refresh) the demo account that `make run` prints, so a newcomer can log in at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from playground.accounts.models import User

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "prefix-playground-demo"


class Command(BaseCommand):
    help = "Create the demo account (idempotent) and print how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo account ready: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}"
            )
        )
