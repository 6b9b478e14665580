"""Load the starter template library, or bring it up to date: safe to run on every release.

Templates are matched by their stable `key`, so a re-run updates them in place (keeping a
revision when the contents changed) and never duplicates them. A starter someone changed on
this site since the loader last wrote it (its contents, or who owns or sees it) is kept as it
is: the Procfile's release line runs this command on every deploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from playground.prompts import schema
from playground.prompts.models import PrefixTemplate, Visibility

STARTER_PATH = Path(__file__).resolve().parents[2] / "starter_library.json"
# The note on the revisions the loader writes; a later revision by anyone else is an edit.
STARTER_NOTE = "Starter library"


def load_starter_library(path: Path = STARTER_PATH) -> dict[str, int]:
    """Return how many starter templates were created, updated and left unchanged."""
    contents, problems = schema.parse(path.read_text(encoding="utf-8"))
    if problems:
        raise CommandError(f"{path.name} is invalid:\n" + "\n".join(map(str, problems)))
    counts = {"created": 0, "updated": 0, "unchanged": 0, "kept": 0}
    with transaction.atomic():
        for index, content in enumerate(contents):
            if not content["key"]:
                raise CommandError(f"{path.name}: templates[{index}].key: required here")
            template = PrefixTemplate.objects.select_for_update().filter(key=content["key"]).first()
            if template is None:
                template = PrefixTemplate(key=content["key"])
                counts["created"] += 1
            elif template.content() == {k: v for k, v in content.items() if k != "key"}:
                counts["unchanged"] += 1
                continue
            elif edited_on_site(template):
                counts["kept"] += 1
                continue
            else:
                counts["updated"] += 1
            template.owner, template.team = None, None
            template.visibility = Visibility.PUBLIC
            template.apply_content(content)
            template.save(note=STARTER_NOTE)
    return counts


def edited_on_site(template: PrefixTemplate) -> bool:
    """Return whether someone changed `template` since the loader last wrote it."""
    if (template.owner_id, template.team_id, template.visibility) != (
        None,
        None,
        Visibility.PUBLIC,
    ):
        return True
    loaded = template.revisions.filter(note=STARTER_NOTE, author=None).order_by("-number").first()
    return loaded is None or loaded.content != template.content()


class Command(BaseCommand):
    help = (
        "Create or update the public starter template library (idempotent; starters edited on "
        "this site are kept as they are)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_starter_library()
        self.stdout.write(
            self.style.SUCCESS(
                "Starter library: {created} created, {updated} updated, {unchanged} unchanged, "
                "{kept} kept as edited on this site.".format(**counts)
            )
        )
