"""Load the starter template library, or bring it up to date: safe to run on every start.

Templates are matched by their stable `key`, so a re-run updates them in place (keeping a
revision when the contents changed) and never duplicates them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from playground.prompts import schema
from playground.prompts.models import PrefixTemplate, Visibility

STARTER_PATH = Path(__file__).resolve().parents[2] / "starter_library.json"


def load_starter_library(path: Path = STARTER_PATH) -> dict[str, int]:
    """Return how many starter templates were created, updated and left unchanged."""
    contents, problems = schema.parse(path.read_text(encoding="utf-8"))
    if problems:
        raise CommandError(f"{path.name} is invalid:\n" + "\n".join(map(str, problems)))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        for index, content in enumerate(contents):
            if not content["key"]:
                raise CommandError(f"{path.name}: templates[{index}].key: required here")
            template = PrefixTemplate.objects.filter(key=content["key"]).first()
            if template is None:
                template = PrefixTemplate(key=content["key"])
                counts["created"] += 1
            elif template.content() == {k: v for k, v in content.items() if k != "key"}:
                counts["unchanged"] += 1
                continue
            else:
                counts["updated"] += 1
            template.owner, template.team = None, None
            template.visibility = Visibility.PUBLIC
            template.apply_content(content)
            template.save(note="Starter library")
    return counts


class Command(BaseCommand):
    help = "Create or update the public starter template library (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_starter_library()
        self.stdout.write(
            self.style.SUCCESS(
                "Starter library: {created} created, {updated} updated, "
                "{unchanged} unchanged.".format(**counts)
            )
        )
