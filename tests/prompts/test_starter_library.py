"""The starter library: useful templates for everyone, loaded idempotently by a command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from playground.prompts import schema
from playground.prompts.management.commands.load_starter_library import (
    STARTER_PATH,
    load_starter_library,
)
from playground.prompts.models import PrefixTemplate, TemplateRevision, Visibility

pytestmark = pytest.mark.django_db


def test_it_loads_at_least_fifteen_public_templates_owned_by_nobody() -> None:
    out = StringIO()

    call_command("load_starter_library", stdout=out)

    starters = PrefixTemplate.objects.exclude(key="")
    assert starters.count() >= 15
    assert {(t.owner, t.team, t.visibility) for t in starters} == {(None, None, Visibility.PUBLIC)}
    assert all(len(t.description) > 80 for t in starters)
    assert f"{starters.count()} created, 0 updated, 0 unchanged" in out.getvalue()


def test_it_covers_the_code_fences_and_every_mode() -> None:
    load_starter_library()
    starters = list(PrefixTemplate.objects.exclude(key=""))

    fences = {t.prefix: t.stop for t in starters if t.category == "code_fence"}
    for language in ("python", "sql", "bash", "json", "typescript"):
        assert fences[f"```{language}\n"] == ["```"]
    assert any(t.category == "json" and t.prefix == "{" for t in starters)
    assert {t.category for t in starters} >= {"story", "roleplay", "fim", "json", "code_fence"}
    assert any(t.category == "story" and "，" in t.prefix for t in starters)
    assert any(t.key == "continue-truncated" for t in starters)
    fim = [t for t in starters if t.category == "fim"]
    assert fim and all(t.suffix for t in fim)
    assert any(t.reasoning_prefix and "DeepSeek" in t.description for t in starters)
    images = [url for t in starters for turn in t.turns for url in turn["images"]]
    assert images and all(url.startswith("https://") for url in images)


def test_it_says_which_providers_support_each_special_mode() -> None:
    load_starter_library()
    by_key = {t.key: t for t in PrefixTemplate.objects.exclude(key="")}

    assert "/beta/completions" in by_key["fim-python-function-body"].description
    assert "Qwen-VL" in by_key["image-caption-prefix"].description
    assert "Kimi" in by_key["json-object-opener"].description
    assert "reasoning_content" in by_key["deepseek-reasoning-prefix"].description


def test_it_renders_every_starter_with_its_defaults_or_names_what_is_missing() -> None:
    load_starter_library()

    for template in PrefixTemplate.objects.exclude(key=""):
        rendered = template.render({})
        assert "{{" not in rendered.prefix + rendered.system, template.key


def test_it_is_idempotent() -> None:
    load_starter_library()
    revisions = TemplateRevision.objects.count()

    counts = load_starter_library()

    assert counts["created"] == counts["updated"] == 0
    assert counts["unchanged"] == PrefixTemplate.objects.count()
    assert TemplateRevision.objects.count() == revisions


def test_it_updates_changed_starters_in_place(tmp_path: Path) -> None:
    load_starter_library()
    document = json.loads(STARTER_PATH.read_text(encoding="utf-8"))
    document["templates"][0]["prefix"] = "```python3\n"
    changed = tmp_path / "starter.json"
    changed.write_text(json.dumps(document), encoding="utf-8")
    total = PrefixTemplate.objects.count()

    counts = load_starter_library(changed)

    assert counts["updated"] == 1
    assert PrefixTemplate.objects.count() == total
    template = PrefixTemplate.objects.get(key=document["templates"][0]["key"])
    assert template.prefix == "```python3\n"
    assert template.revisions.count() == 2


def test_it_refuses_an_invalid_library_file(tmp_path: Path) -> None:
    broken = tmp_path / "starter.json"
    broken.write_text(json.dumps({"schema": schema.SCHEMA, "version": 1, "templates": [{}]}))

    with pytest.raises(CommandError, match=r"templates\[0\]\.name: required"):
        load_starter_library(broken)
    assert not PrefixTemplate.objects.exists()


def test_it_shows_starters_to_every_signed_in_user(charlie_client: Client) -> None:
    load_starter_library()

    response = charlie_client.get("/templates/", {"q": "code fence"})

    assert "Python code fence" in response.content.decode()


def _changed_library(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    """Return a copy of the library file in which every starter's description changed."""
    document = json.loads(STARTER_PATH.read_text(encoding="utf-8"))
    for template in document["templates"]:
        template["description"] += " Updated upstream."
    changed = tmp_path / "starter.json"
    changed.write_text(json.dumps(document), encoding="utf-8")
    return changed, document["templates"]


def test_it_keeps_a_starter_edited_on_the_site(tmp_path: Path) -> None:
    load_starter_library()
    edited = PrefixTemplate.objects.get(key="code-fence-sql")
    edited.prefix = "```postgresql\n"
    edited.save(note="Edited in the admin")
    changed, templates = _changed_library(tmp_path)

    counts = load_starter_library(changed)

    assert counts["kept"] == 1 and counts["updated"] == len(templates) - 1
    edited.refresh_from_db()
    assert edited.prefix == "```postgresql\n"
    assert not edited.description.endswith("Updated upstream.")
    assert PrefixTemplate.objects.get(key="code-fence-python").description.endswith(
        "Updated upstream."
    )
    assert PrefixTemplate.objects.exclude(key="").count() == len(templates)


def test_it_keeps_a_starter_handed_to_a_team(tmp_path: Path, alice: Any, team: Any) -> None:
    load_starter_library()
    adopted = PrefixTemplate.objects.get(key="story-opener-en")
    adopted.team, adopted.visibility = team, Visibility.TEAM
    adopted.save()
    changed, _ = _changed_library(tmp_path)

    counts = load_starter_library(changed)

    assert counts["kept"] == 1
    adopted.refresh_from_db()
    assert (adopted.team, adopted.visibility) == (team, Visibility.TEAM)
    assert not adopted.description.endswith("Updated upstream.")


def test_it_says_how_many_edited_starters_it_kept() -> None:
    load_starter_library()
    edited = PrefixTemplate.objects.get(key="commit-message")
    edited.name = "Commit message (our style)"
    edited.save()
    out = StringIO()

    call_command("load_starter_library", stdout=out)

    assert "1 kept as edited on this site" in out.getvalue()
    assert PrefixTemplate.objects.get(key="commit-message").name == "Commit message (our style)"
