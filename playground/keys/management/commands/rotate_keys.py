"""Re-encrypt every stored API key under the first ENCRYPTION_KEYS entry.

Rotation: put a new key first in ENCRYPTION_KEYS (keeping the old ones after it), deploy, run
this command, then drop the old keys. Running it again is harmless.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from playground.keys.crypto import DecryptionError
from playground.keys.models import Credential


class Command(BaseCommand):
    help = "Re-encrypt every stored API key under the first ENCRYPTION_KEYS entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Credentials per transaction."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            rotated = Credential.objects.rotate_keys(batch_size=options["batch_size"])
        except DecryptionError as exc:
            raise CommandError(
                f"{exc} Put the key it was encrypted with back into ENCRYPTION_KEYS and run "
                "rotate_keys again; batches already rotated are kept."
            ) from None
        noun = "credential" if rotated == 1 else "credentials"
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {rotated} {noun} under the first encryption key.")
        )
