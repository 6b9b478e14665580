"""Dialect name -> request builder, and stream format -> framing and parsers.

`plan()` is the single entry point from a (Target, CompletionRequest) pair to the exact HTTP
request: it resolves the provider, dialect, base URL and model capabilities from the catalog,
then hands over to the dialect's builder. Anything the target cannot do is refused here,
before a byte is sent, with ProviderError(kind=UNSUPPORTED).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from playground.providers import anthropic, ollama, openai_style
from playground.providers.base import CompletionRequest, PreparedCall, Target
from playground.providers.catalog import get_provider, model_info
from playground.providers.errors import unsupported
from playground.providers.parsing import Item
from playground.providers.request import Context, Plan, check_roles
from playground.providers.sse import NDJSONDecoder, SSEDecoder, SSEEvent


class Decoder(Protocol):
    def feed(self, chunk: bytes) -> list[SSEEvent]: ...

    def close(self) -> list[SSEEvent]: ...


@dataclass(frozen=True)
class Format:
    decoder: Callable[[], Decoder]
    parse_event: Callable[[SSEEvent, str, str], list[Item]]
    parse_body: Callable[[dict[str, object], str, str], list[Item]]


FORMATS = {
    "openai": Format(SSEDecoder, openai_style.parse_event, openai_style.parse_object),
    "anthropic": Format(SSEDecoder, anthropic.parse_event, anthropic.parse_body),
    "ollama": Format(NDJSONDecoder, ollama.parse_event, ollama.parse_body),
}

BUILDERS: dict[str, Callable[[Context], Plan]] = {
    "deepseek": openai_style.build,
    "dashscope": openai_style.build,
    "moonshot": openai_style.build,
    "mistral": openai_style.build,
    "vllm": openai_style.build,
    "sglang": openai_style.build,
    "llamacpp": openai_style.build,
    "plain": openai_style.build,
    "openai": openai_style.build,
    "anthropic": anthropic.build,
    "ollama": ollama.build,
}


def plan(target: Target, request: CompletionRequest) -> Plan:
    """Return the plan for `request` on `target`; raise ProviderError(UNSUPPORTED) to refuse."""
    try:
        provider = get_provider(target.provider)
    except KeyError:
        raise unsupported(f"Unknown provider {target.provider!r}.") from None
    dialect = target.dialect or provider.dialect
    if dialect not in provider.dialect_choices or dialect not in BUILDERS:
        raise unsupported(f"{provider.name} does not speak the {dialect!r} dialect.")
    base_url = target.base_url.strip() or provider.default_base_url
    if not base_url:
        raise unsupported(f"No base URL is set for {provider.name}.")
    if not request.model.strip():
        raise unsupported("Choose a model.")
    check_roles(request.turns)
    model = model_info(provider.id, request.model)
    context = Context(target, request, provider, dialect, model, base_url)
    return BUILDERS[dialect](context)


def prepare(target: Target, request: CompletionRequest) -> PreparedCall:
    """Return the exact HTTP request (with notes) for `request` on `target`, without sending it."""
    return plan(target, request).call
