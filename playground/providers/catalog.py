"""The provider catalog: providers, their defaults and per-model capabilities, read from data.

The data lives in catalog.json beside this module so it can be edited without touching code.
Model ids stay free text everywhere: the catalog only suggests them and describes the known ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOG_PATH = Path(__file__).with_name("catalog.json")


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    default_base_url: str
    auth: str
    dialect: str
    supports_prefix: bool
    unsupported_reason: str = ""


@cache
def providers() -> tuple[Provider, ...]:
    """Return every catalogued provider, in display order."""
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return tuple(
        Provider(
            id=item["id"],
            name=item["name"],
            default_base_url=item["default_base_url"],
            auth=item["auth"],
            dialect=item["dialect"],
            supports_prefix=item["supports_prefix"],
            unsupported_reason=item.get("unsupported_reason", ""),
        )
        for item in data["providers"]
    )


def get_provider(provider_id: str) -> Provider:
    """Return the provider with `provider_id`; raise KeyError for an unknown id."""
    for provider in providers():
        if provider.id == provider_id:
            return provider
    raise KeyError(f"unknown provider {provider_id!r}")


def provider_choices() -> list[tuple[str, str]]:
    """Return (id, name) pairs for a form's choices."""
    return [(provider.id, provider.name) for provider in providers()]
