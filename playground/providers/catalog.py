"""The provider catalog: providers, their defaults and per-model capabilities, read from data.

The data lives in catalog.json beside this module so it can be edited without touching code.
Model ids stay free text everywhere: the catalog only suggests them and describes the known ones.
An unknown id gets the provider's `model_defaults`, adjusted by every `model_rules` entry whose
regex matches it, in order (for example, Anthropic ids of 4.6 and later refuse prefill).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

CATALOG_PATH = Path(__file__).with_name("catalog.json")

Thinking = Literal["none", "optional", "always", "default_on"]
THINKING_VALUES = ("none", "optional", "always", "default_on")
AUTH_VALUES = ("bearer", "x-api-key", "none")


@dataclass(frozen=True)
class ModelInfo:
    id: str
    label: str = ""
    prefix: bool = True
    refuses_prefill_reason: str = ""
    thinking: Thinking = "optional"
    fim: bool = False
    vision: bool = False
    json_mode: bool = True
    max_output_tokens: int | None = None
    price_input_per_mtok: float | None = None
    price_output_per_mtok: float | None = None
    currency: Literal["USD", "CNY"] | None = None
    price_source: str = ""
    notes: str = ""
    # Tool (function) calling: whether the model takes `tools`, and why not when it does not.
    tools: bool = True
    refuses_tools_reason: str = ""


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    default_base_url: str
    auth: str
    dialect: str
    supports_prefix: bool
    unsupported_reason: str = ""
    base_urls: tuple[tuple[str, str], ...] = ()
    dialect_choices: tuple[str, ...] = ()
    key_env: str = ""
    models: tuple[ModelInfo, ...] = ()
    docs_url: str = ""
    notes: str = ""
    stream_usage: bool = False
    default_max_tokens: int | None = None
    # The most stop sequences the provider's API takes, where it documents a limit.
    max_stop_sequences: int | None = None
    model_defaults: ModelInfo = ModelInfo(id="")
    model_rules: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    # Tool calling (docs/providers-tools.md): where `"strict": true` on a function works
    # ("beta": only on a /beta path, "native": always, "none": nowhere), and whether tools can
    # ride along with a prefix.
    tool_strict: str = "none"
    tools_with_prefix: bool = True
    tools_with_prefix_reason: str = ""
    # The tool_choice modes the API takes (auto, none, required, function).
    tool_choices: tuple[str, ...] = ("auto", "none", "required", "function")


TOOL_STRICT_VALUES = ("none", "beta", "native")
MODEL_FIELDS = frozenset(ModelInfo.__dataclass_fields__)


def _model(data: dict[str, Any], base: ModelInfo) -> ModelInfo:
    unknown = set(data) - MODEL_FIELDS
    if unknown:
        raise ValueError(f"catalog.json: unknown model field(s) {sorted(unknown)}")
    merged: dict[str, Any] = {**base.__dict__, **data}
    if merged["thinking"] not in THINKING_VALUES:
        raise ValueError(f"catalog.json: bad thinking value {merged['thinking']!r}")
    return ModelInfo(**merged)


def _provider(item: dict[str, Any]) -> Provider:
    if item["auth"] not in AUTH_VALUES:
        raise ValueError(f"catalog.json: bad auth value {item['auth']!r} for {item['id']}")
    defaults = _model({"id": "", **item.get("model_defaults", {})}, ModelInfo(id=""))
    rules = tuple(
        (rule["pattern"], tuple((k, v) for k, v in rule.items() if k != "pattern"))
        for rule in item.get("model_rules", [])
    )
    for _, overrides in rules:
        _model(dict(overrides), defaults)  # validates the rule's fields
    return Provider(
        id=item["id"],
        name=item["name"],
        default_base_url=item["default_base_url"],
        auth=item["auth"],
        dialect=item["dialect"],
        supports_prefix=item["supports_prefix"],
        unsupported_reason=item.get("unsupported_reason", ""),
        base_urls=tuple((label, url) for label, url in item.get("base_urls", [])),
        dialect_choices=tuple(item.get("dialect_choices", [item["dialect"]])),
        key_env=item["key_env"],
        # Known models describe themselves; the defaults' notes are about unknown ids.
        models=tuple(_model(model, replace(defaults, notes="")) for model in item["models"]),
        docs_url=item.get("docs_url", ""),
        notes=item.get("notes", ""),
        stream_usage=item.get("stream_usage", False),
        default_max_tokens=item.get("default_max_tokens"),
        max_stop_sequences=item.get("max_stop_sequences"),
        model_defaults=defaults,
        model_rules=rules,
        tool_strict=_tool_strict(item),
        tools_with_prefix=item.get("tools_with_prefix", True),
        tools_with_prefix_reason=item.get("tools_with_prefix_reason", ""),
        tool_choices=tuple(item.get("tool_choices", Provider.tool_choices)),
    )


def _tool_strict(item: dict[str, Any]) -> str:
    value = item.get("tool_strict", "none")
    if value not in TOOL_STRICT_VALUES:
        raise ValueError(f"catalog.json: bad tool_strict value {value!r} for {item['id']}")
    return str(value)


@cache
def providers() -> tuple[Provider, ...]:
    """Return every catalogued provider, in display order."""
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return tuple(_provider(item) for item in data["providers"])


def get_provider(provider_id: str) -> Provider:
    """Return the provider with `provider_id`; raise KeyError for an unknown id."""
    for provider in providers():
        if provider.id == provider_id:
            return provider
    raise KeyError(f"unknown provider {provider_id!r}")


def provider_choices() -> list[tuple[str, str]]:
    """Return (id, name) pairs for a form's choices."""
    return [(provider.id, provider.name) for provider in providers()]


def model_info(provider_id: str, model_id: str) -> ModelInfo:
    """Return what the catalog knows about `model_id`, or the provider's defaults for it."""
    provider = get_provider(provider_id)
    for model in provider.models:
        if model.id == model_id:
            return model
    info = _model({"id": model_id, "label": model_id}, provider.model_defaults)
    for pattern, overrides in provider.model_rules:
        if re.search(pattern, model_id):
            info = _model(dict(overrides), info)
    return info


def simulator_base_url(provider_id: str, origin: str) -> str:
    """Return the built-in simulator's base URL for `provider_id`, served under `origin`."""
    provider = get_provider(provider_id)
    # The simulator serves each provider under /{id} plus the real base URL's path; the
    # generic endpoint has no real base URL, so it gets the usual /v1.
    path = urlsplit(provider.default_base_url).path if provider.default_base_url else "/v1"
    return f"{origin.rstrip('/')}/{provider.id}{path.rstrip('/')}"
