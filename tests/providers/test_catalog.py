"""The catalog loads from data and describes every provider the issue lists."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from playground.providers import catalog, get_provider, model_info, provider_choices, providers
from playground.providers.catalog import CATALOG_PATH, simulator_base_url
from playground.providers.registry import BUILDERS

EXPECTED = {
    "deepseek",
    "dashscope",
    "coreshub",
    "moonshot",
    "mistral",
    "anthropic",
    "openrouter",
    "vllm",
    "sglang",
    "llamacpp",
    "ollama",
    "openai_compatible",
    "openai",
}


def test_it_lists_every_provider_with_the_required_fields() -> None:
    assert {p.id for p in providers()} == EXPECTED
    for provider in providers():
        assert provider.name and provider.key_env.endswith("_API_KEY")
        assert provider.auth in ("bearer", "x-api-key", "none")
        assert provider.dialect in provider.dialect_choices
        assert set(provider.dialect_choices) <= set(BUILDERS)
        assert provider.docs_url.startswith(("https://", "http://"))
        if provider.default_base_url:
            assert urlsplit(provider.default_base_url).scheme in ("https", "http")
        assert provider.supports_prefix or provider.unsupported_reason
        for model in provider.models:
            assert model.id and model.label
            assert model.thinking in ("none", "optional", "always", "default_on")
            assert model.prefix or model.refuses_prefill_reason
            if model.price_input_per_mtok is not None:
                assert model.currency in ("USD", "CNY")
                assert "read 20" in model.price_source


def test_it_keeps_the_functions_the_key_vault_uses() -> None:
    assert ("deepseek", "DeepSeek") in provider_choices()
    assert get_provider("dashscope").default_base_url.endswith("/compatible-mode/v1")
    with pytest.raises(KeyError):
        get_provider("nope")


def test_it_lists_the_regions_and_the_generic_dialects() -> None:
    regions = dict(get_provider("dashscope").base_urls)
    assert regions["Singapore"] == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    assert len(regions) == 4
    assert len(get_provider("moonshot").base_urls) == 2
    generic = get_provider("openai_compatible")
    assert set(generic.dialect_choices) >= {"plain", "deepseek", "dashscope", "mistral", "vllm"}


def test_it_describes_openai_as_unsupported_with_the_reason() -> None:
    openai = get_provider("openai")
    assert not openai.supports_prefix
    assert "answers afresh" in openai.unsupported_reason


def test_it_gives_unknown_models_the_providers_defaults_and_rules() -> None:
    assert model_info("dashscope", "qwen3-new").thinking == "default_on"
    assert model_info("dashscope", "qwen3-vl-next").vision is True
    assert model_info("dashscope", "qwen3-next-thinking").thinking == "always"
    assert model_info("anthropic", "claude-opus-4-8").prefix is False
    assert model_info("anthropic", "claude-sonnet-4-5-20250929").prefix is True
    assert model_info("deepseek", "deepseek-chat").fim is True
    assert model_info("deepseek", "deepseek-chat").notes  # known models keep their own notes
    assert model_info("deepseek", "anything").label == "anything"


def test_it_maps_each_provider_to_its_simulator_path() -> None:
    origin = "http://127.0.0.1:8000/sim/"
    assert simulator_base_url("deepseek", origin) == "http://127.0.0.1:8000/sim/deepseek"
    assert simulator_base_url("dashscope", origin) == (
        "http://127.0.0.1:8000/sim/dashscope/compatible-mode/v1"
    )
    assert simulator_base_url("openrouter", origin).endswith("/sim/openrouter/api/v1")
    assert simulator_base_url("ollama", origin).endswith("/sim/ollama")
    assert simulator_base_url("openai_compatible", origin).endswith("/sim/openai_compatible/v1")


def test_it_rejects_a_misspelt_capability_in_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    data["providers"][0]["models"][0]["visoin"] = True
    broken = tmp_path / "catalog.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(catalog, "CATALOG_PATH", broken)
    catalog.providers.cache_clear()
    try:
        with pytest.raises(ValueError, match="unknown model field"):
            catalog.providers()
    finally:
        catalog.providers.cache_clear()
