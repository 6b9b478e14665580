from __future__ import annotations

from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "playground.keys"

    def ready(self) -> None:
        # Removing a member or deleting a team credential stops its columns in flight.
        from . import signals

        signals.connect()
