from __future__ import annotations

from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "playground.batches"
    label = "batches"
    verbose_name = "Batch runs"
    default_auto_field = "django.db.models.BigAutoField"
