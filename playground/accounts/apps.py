from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "playground.accounts"
    verbose_name = "Accounts and teams"

    def ready(self) -> None:
        # Registers the project's own deploy checks (playground/checks.py).
        from playground import checks  # noqa: F401
