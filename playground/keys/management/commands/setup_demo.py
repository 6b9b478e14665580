"""Set up the offline demo that `make run` prints: a demo account with simulator keys."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from playground import offline
from playground.accounts.models import User
from playground.keys.models import Credential

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "prefix-playground-demo"


class Command(BaseCommand):
    help = (
        "Create the demo account (idempotent), give it simulator credentials served by this "
        "site at --origin, load the starter template library, and print how to log in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--origin",
            default="http://127.0.0.1:8000",
            help="Where the site will be served (the simulator answers under ORIGIN/sim).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        call_command("load_starter_library", verbosity=0)
        origin = offline.simulator_origin(options["origin"])
        if origin is not None:
            made = Credential.objects.add_simulator_set(user, origin)
            self.stdout.write(f"Simulator credentials for the demo account: {len(made)} ({origin})")
        else:
            self.stdout.write(
                "This site offers no offline demo (DEMO_MODE, or SIMULATOR_ENABLED with "
                "ALLOW_PRIVATE_BASE_URLS): the demo account has no simulator keys."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo account ready: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}"
            )
        )
