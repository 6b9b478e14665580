"""Probe: a known prefix, and a verdict on whether the reply continues it or starts afresh."""

from __future__ import annotations

import json

import httpx
import pytest

from playground.providers import ProbeResult, Target, probe
from playground.providers.probe import PROBE_PREFIX, judge, probe_request
from tests.providers.helpers import KEY, answer, sse


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        (" 8, 9, 10, 11, 12", "continues"),
        ("8,9,10", "continues"),
        ("\n8, 9", "continues"),
        (" eight, nine", "continues"),
        ("1, 2, 3, 4, 5, 6, 7, 8, 9", "restarts"),
        ("Sure! Here are the numbers: 1, 2, 3", "restarts"),
        ("Here you go:\n1, 2, 3", "restarts"),
        ("Counting from one: 1, 2, 3", "restarts"),
        ("", "error"),
        ("   ", "error"),
    ],
)
def test_it_judges_canned_replies(reply: str, verdict: str) -> None:
    assert judge(reply)[0] == verdict


def test_it_quotes_the_reply_as_evidence() -> None:
    verdict, evidence = judge("Sure! Here are the numbers:\n1, 2, 3")
    assert verdict == "restarts"
    assert '"Sure! Here are the numbers:\\n1, 2, 3"' in evidence


def test_it_gives_always_thinking_models_room_to_reason() -> None:
    deepseek = Target("deepseek", "", KEY)
    assert probe_request(deepseek, "deepseek-reasoner").max_tokens == 2048
    assert probe_request(deepseek, "deepseek-chat").max_tokens == 48
    assert probe_request(deepseek, "deepseek-chat").thinking is False


def reply(text: str) -> bytes:
    chunk = {"choices": [{"delta": {"content": text}, "finish_reason": "stop"}]}
    return sse(json.dumps(chunk), "[DONE]")


@pytest.mark.anyio
async def test_it_probes_a_provider_that_continues() -> None:
    seen: list[httpx.Request] = []
    target = Target("vllm", "http://localhost:8000/v1", KEY)
    result = await probe(answer(reply(" 8, 9, 10"), seen=seen), target, "m", allow_private=True)
    assert result == ProbeResult("continues", result.evidence, PROBE_PREFIX, " 8, 9, 10")
    sent = json.loads(seen[0].content)
    assert sent["messages"][-1] == {"role": "assistant", "content": PROBE_PREFIX}
    assert sent["continue_final_message"] is True


@pytest.mark.anyio
async def test_it_probes_a_provider_that_restarts() -> None:
    target = Target("openrouter", "https://openrouter.ai/api/v1", KEY)
    client = answer(reply("Sure! 1, 2, 3"))
    result = await probe(client, target, "meta/llama", allow_private=True)
    assert result.verdict == "restarts"


@pytest.mark.anyio
async def test_it_reports_a_failed_probe_as_an_error() -> None:
    body = b'{"error":{"message":"bad key","type":"authentication_error"}}'
    client = answer(body, status=401, content_type="application/json")
    result = await probe(client, Target("deepseek", "", KEY), "deepseek-chat", allow_private=True)
    assert result.verdict == "error"
    assert result.evidence.startswith("The API key was rejected by DeepSeek (401)")


@pytest.mark.anyio
async def test_it_reports_a_target_that_cannot_take_a_prefix_as_unsupported() -> None:
    seen: list[httpx.Request] = []
    target = Target("openai", "", KEY)
    result = await probe(answer(b"", seen=seen), target, "gpt-4o-mini", allow_private=True)
    assert result.verdict == "unsupported"
    assert "answers afresh" in result.evidence
    assert seen == []


def test_it_builds_the_probe_request_even_for_an_unknown_provider() -> None:
    request = probe_request(Target("nope", "", KEY), "m")
    assert (request.prefix, request.max_tokens) == (PROBE_PREFIX, 48)
