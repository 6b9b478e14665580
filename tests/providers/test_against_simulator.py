"""Integration: the provider layer against the built-in simulator over real loopback HTTP.

The simulator implements each provider from its documentation on its own (it shares no code with
playground.providers), so agreement here means both sides read the documentation the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from playground.providers import (
    CompletionRequest,
    Deadlines,
    ErrorKind,
    Finish,
    Target,
    TextDelta,
    Turn,
    complete,
    probe,
    simulator_base_url,
    stream_completion,
)
from playground.simulator import SimulatorApp, create_app
from tests.servers import serving
from tests.simulator.conftest import socket_buffer_bytes
from tests.waiting import HANG_GUARD

pytestmark = pytest.mark.anyio

DEADLINES = Deadlines(first_token=2.0, stall=1.0, total=20.0)
ASK = (Turn("user", "Please continue."),)
PREFIXES = {
    "deepseek": ("deepseek-chat", "```python\n"),
    "dashscope": ("qwen-plus", "Once upon a time"),
    "coreshub": ("DeepSeek-V3", "叮铃铃,下课铃响了"),
    "moonshot": ("kimi-k2.5", "{"),
    "mistral": ("mistral-small-latest", "Shakespeare: "),
    "anthropic": ("claude-haiku-4-5", "```python\n"),
    "openrouter": ("anthropic/claude-haiku-4.5", "I'm not sure, but my best guess is"),
    "vllm": ("meta-llama/Llama-3.2-3B-Instruct", "An apple a day, keeps"),
    "sglang": ("Qwen/Qwen3-8B", "An apple a day, keeps"),
    "llamacpp": ("qwen3", "Thanks for asking! I am"),
    "ollama": ("llama3.2", "Thanks for asking! I am "),
    "openai_compatible": ("my-model", "Dear diary,"),
}


@dataclass
class Sim:
    origin: str
    app: SimulatorApp

    def target(self, provider: str, key: str = "sim-ok-key") -> Target:
        return Target(provider, simulator_base_url(provider, self.origin), key)


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    app = create_app(
        tokens_per_second=5000,
        first_token_delay=0.01,
        slow_delay=0.5,
        keepalive_interval=0.1,
        silence=5.0,
    )
    with serving(app, name="providers-simulator") as url:
        yield Sim(url, app)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("provider", sorted(PREFIXES))
async def test_it_continues_the_prefix_in_every_dialect(
    sim: Sim, provider: str, stream: bool
) -> None:
    model, prefix = PREFIXES[provider]
    request = CompletionRequest(model, prefix, turns=ASK, max_tokens=40, stream=stream)
    async with httpx.AsyncClient() as client:
        result = await complete(
            client, sim.target(provider), request, deadlines=DEADLINES, allow_private=True
        )
    assert result.error is None, result.error
    assert isinstance(result.finish, Finish)
    assert result.text.strip()
    # Echoes (Mistral) are stripped and trimmed whitespace (Anthropic) is not doubled.
    assert not result.text.startswith(prefix.strip() or "\0")
    assert not (prefix + result.text).startswith("```python\n\n")
    assert result.usage is not None and result.usage.output_tokens


async def test_it_gets_reasoning_and_a_middle_from_deepseek(sim: Sim) -> None:
    target = sim.target("deepseek")
    async with httpx.AsyncClient() as client:
        thinking = await complete(
            client,
            target,
            CompletionRequest("deepseek-v4-flash", "", turns=ASK, thinking=True, max_tokens=80),
            allow_private=True,
        )
        fim = await complete(
            client,
            target,
            CompletionRequest("deepseek-chat", "def fib(a):", suffix="    return fib(a-1)"),
            allow_private=True,
        )
    assert thinking.reasoning
    assert fim.error is None and fim.text


@pytest.mark.parametrize(
    ("key", "kind"), [("sim-invalid-key", ErrorKind.AUTH), ("sim-broke-key", ErrorKind.BALANCE)]
)
@pytest.mark.parametrize("provider", ["deepseek", "dashscope", "mistral", "anthropic", "vllm"])
async def test_it_maps_each_providers_key_errors(
    sim: Sim, provider: str, key: str, kind: ErrorKind
) -> None:
    model, prefix = PREFIXES[provider]
    async with httpx.AsyncClient() as client:
        result = await complete(
            client,
            sim.target(provider, key),
            CompletionRequest(model, prefix, turns=ASK),
            allow_private=True,
        )
    assert result.error is not None
    assert result.error.kind == kind
    assert key not in result.error.message


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("429", ErrorKind.RATE_LIMIT),
        ("503", ErrorKind.OVERLOADED),
        ("midstream", None),
        ("cut", ErrorKind.CONNECTION),
        ("silent", ErrorKind.FIRST_TOKEN_TIMEOUT),
        ("stall", ErrorKind.STALLED),
    ],
)
@pytest.mark.parametrize("provider", ["deepseek", "anthropic"])
async def test_it_turns_each_fault_into_a_clear_error(
    sim: Sim, provider: str, fault: str, kind: ErrorKind | None
) -> None:
    model, prefix = PREFIXES[provider]
    request = CompletionRequest(f"{model}-fault-{fault}", prefix, turns=ASK)
    async with httpx.AsyncClient() as client:
        result = await complete(
            client, sim.target(provider), request, deadlines=DEADLINES, allow_private=True
        )
    assert result.error is not None
    assert result.error.retryable
    if kind is not None:
        assert result.error.kind == kind
    if fault in ("midstream", "cut", "stall"):
        assert result.text


@pytest.mark.parametrize("provider", ["deepseek", "anthropic"])
async def test_it_finishes_past_one_unreadable_chunk_with_a_note(sim: Sim, provider: str) -> None:
    model, prefix = PREFIXES[provider]
    request = CompletionRequest(f"{model}-fault-malformed", prefix, turns=ASK)
    async with httpx.AsyncClient() as client:
        result = await complete(
            client, sim.target(provider), request, deadlines=DEADLINES, allow_private=True
        )
    # The simulator slips one unreadable chunk between whole ones: nothing is lost.
    assert result.error is None
    assert result.finish is not None
    assert result.finish.notes == ("1 unreadable chunk skipped",)
    assert result.text


async def test_it_closes_the_upstream_connection_when_cancelled(sim: Sim) -> None:
    model, prefix = PREFIXES["deepseek"]
    request = CompletionRequest(f"{model}-fault-stall", prefix, turns=ASK)
    got_text = asyncio.Event()

    async def consume(client: httpx.AsyncClient) -> None:
        async for event in stream_completion(
            client, sim.target("deepseek"), request, allow_private=True
        ):
            if isinstance(event, TextDelta):
                got_text.set()

    async with httpx.AsyncClient() as client:
        task = asyncio.create_task(consume(client))
        await asyncio.wait_for(got_text.wait(), HANG_GUARD)
        record = sim.app.requests[-1]
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Only the closed connection is recorded as a disconnect (a stall that runs out is not).
        async with asyncio.timeout(HANG_GUARD):
            while record.disconnected_at is None:
                await asyncio.sleep(0.005)
    assert record.disconnected_at >= cancelled_at
    assert not record.completed


async def test_it_probes_through_the_simulator(sim: Sim) -> None:
    async with httpx.AsyncClient() as client:
        continues = await probe(client, sim.target("vllm"), "m", allow_private=True)
        refused = await probe(client, sim.target("openai"), "gpt-4o-mini", allow_private=True)
    assert continues.verdict == "continues"
    assert refused.verdict == "unsupported"


@pytest.mark.parametrize("provider", ["deepseek", "anthropic", "ollama"])
async def test_one_endless_stream_event_ends_the_stream_instead_of_filling_memory(
    sim: Sim, provider: str
) -> None:
    # The simulator opens one delta frame and sends 200 MB into it without a line break.
    model, prefix = PREFIXES[provider]
    request = CompletionRequest(f"{model}-fault-bigline", prefix, turns=ASK)
    async with httpx.AsyncClient() as client:
        result = await complete(
            client, sim.target(provider), request, deadlines=DEADLINES, allow_private=True
        )
    assert result.error is not None
    assert result.error.kind is ErrorKind.PROTOCOL
    assert "longer than 1,000,000 characters" in result.error.message
    assert not result.error.retryable
    record = sim.app.requests[-1]
    # The exchange let go at the limit: what the simulator sent is what was read (about the
    # limit) plus what a loopback connection's buffers hold, nowhere near 200 MB.
    assert not record.completed
    assert record.bytes_sent < 2_000_000 + socket_buffer_bytes() < 200_000_000
