"""stream_completion end to end over httpx.MockTransport: deadlines, cuts, cancellation,
robust parsing, the recorder, and exactly one terminal event every time."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from playground.providers import (
    CompletionRequest,
    Deadlines,
    ErrorKind,
    Finish,
    ProviderError,
    ReasoningDelta,
    Recorder,
    Target,
    TextDelta,
    Turn,
    Usage,
    complete,
    prepare,
    stream_completion,
)
from tests.providers.helpers import KEY, Chunks, answer, client_for, collect, sse
from tests.waiting import HANG_GUARD

pytestmark = pytest.mark.anyio

QUICK = Deadlines(first_token=0.3, stall=0.3, total=3.0)
DEEPSEEK = Target("deepseek", "https://api.deepseek.com", KEY)
REQUEST = CompletionRequest("deepseek-chat", "```python\n", turns=(Turn("user", "sort"),))


def chunk(content: str, finish: str | None = None) -> str:
    return json.dumps(
        {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]}
    )


class Trickle(httpx.AsyncByteStream):
    """Sends `chunks`, then keep-alive comments every `every` seconds, forever."""

    def __init__(self, chunks: Iterable[bytes], every: float = 0.05) -> None:
        self.chunks = list(chunks)
        self.every = every
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for item in self.chunks:
            yield item
        while True:
            await asyncio.sleep(self.every)
            yield b": keep-alive\n\n"

    async def aclose(self) -> None:
        self.closed = True


class Cut(httpx.AsyncByteStream):
    """Sends `chunks`, then fails the way a dropped connection does."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for item in self.chunks:
            yield item
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


def streaming(stream: httpx.AsyncByteStream) -> httpx.AsyncClient:
    return client_for(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=stream
        )
    )


def terminal(events: list[Any]) -> Any:
    ends = [e for e in events if isinstance(e, Finish | ProviderError)]
    assert len(ends) == 1, events
    assert events[-1] is ends[0]
    return ends[0]


async def test_it_sends_exactly_the_prepared_request() -> None:
    seen: list[httpx.Request] = []
    body = sse(chunk("x", "stop"), "[DONE]")
    await collect(answer(body, seen=seen), DEEPSEEK, REQUEST)
    call = prepare(DEEPSEEK, REQUEST)
    (request,) = seen
    assert (request.method, str(request.url)) == (call.method, call.url)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == call.body


async def test_it_reports_no_first_token_while_only_keep_alives_arrive() -> None:
    stream = Trickle([])
    events = await collect(streaming(stream), DEEPSEEK, REQUEST, deadlines=QUICK)
    error = terminal(events)
    assert error.kind == ErrorKind.FIRST_TOKEN_TIMEOUT
    assert error.retryable
    assert "no text within 0.3 s" in error.message
    assert stream.closed


async def test_it_reports_a_stall_after_text_even_with_keep_alives_flowing() -> None:
    stream = Trickle([sse(chunk("def "), chunk("quick"))])
    events = await collect(streaming(stream), DEEPSEEK, REQUEST, deadlines=QUICK)
    assert events[:2] == [TextDelta("def "), TextDelta("quick")]
    error = terminal(events)
    assert error.kind == ErrorKind.STALLED
    assert error.message == "DeepSeek stopped sending for 0.3 s after 9 characters."
    assert stream.closed


async def test_it_reports_a_stall_when_anthropic_only_pings() -> None:
    class Pings(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}
            yield sse(json.dumps(delta))
            while True:
                await asyncio.sleep(0.05)
                yield b'event: ping\ndata: {"type": "ping"}\n\n'

    target = Target("anthropic", "https://api.anthropic.com", KEY)
    request = CompletionRequest("claude-haiku-4-5", "Oh", turns=(Turn("user", "x"),))
    events = await collect(streaming(Pings()), target, request, deadlines=QUICK)
    assert events[0] == TextDelta("Hi")
    assert terminal(events) == ProviderError(
        ErrorKind.STALLED, "Anthropic stopped sending for 0.3 s after 2 characters."
    )


async def test_it_stops_at_the_total_deadline_even_when_data_keeps_coming() -> None:
    class Steady(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            while True:
                await asyncio.sleep(0.02)
                yield sse(chunk("a"))

    deadlines = Deadlines(first_token=1.0, stall=1.0, total=0.3)
    events = await collect(streaming(Steady()), DEEPSEEK, REQUEST, deadlines=deadlines)
    error = terminal(events)
    assert error.kind == ErrorKind.STALLED
    assert "took longer than 0.3 s" in error.message
    assert len(events) > 3


async def test_it_times_out_waiting_for_the_response_headers() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    events = await collect(client_for(slow), DEEPSEEK, REQUEST, deadlines=QUICK)
    assert terminal(events).kind == ErrorKind.FIRST_TOKEN_TIMEOUT


async def test_it_reports_a_connection_cut_mid_stream_with_the_count_so_far() -> None:
    stream = Cut([sse(chunk("def "), chunk("f():"))])
    events = await collect(streaming(stream), DEEPSEEK, REQUEST)
    assert events[:2] == [TextDelta("def "), TextDelta("f():")]
    error = terminal(events)
    assert error.kind == ErrorKind.CONNECTION
    assert error.message == "The connection to DeepSeek was cut after 8 characters."


async def test_it_reports_an_unreachable_provider() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    events = await collect(client_for(refuse), DEEPSEEK, REQUEST)
    assert events == [ProviderError(ErrorKind.CONNECTION, "Could not reach DeepSeek.")]


async def test_it_finishes_a_stream_that_ends_without_its_terminator_with_a_note() -> None:
    events = await collect(answer(sse(chunk("x"), chunk("", "length"))), DEEPSEEK, REQUEST)
    notes = ("stream ended without its end marker",)
    assert events == [TextDelta("x"), Finish("length", "length", notes=notes)]


async def test_it_reports_a_stream_that_ends_before_any_finish() -> None:
    events = await collect(answer(sse(chunk("def"))), DEEPSEEK, REQUEST)
    assert events[0] == TextDelta("def")
    error = terminal(events)
    assert error.kind == ErrorKind.CONNECTION
    assert "ended after 3 characters" in error.message


async def test_it_treats_done_without_a_finish_reason_as_other() -> None:
    events = await collect(answer(sse(chunk("x"), "[DONE]")), DEEPSEEK, REQUEST)
    assert events == [TextDelta("x"), Finish("other")]


async def test_it_keeps_reading_past_a_malformed_line_and_notes_the_skip() -> None:
    body = sse(chunk("a"), '{"choices": [', chunk("b", "stop"), "[DONE]")
    events = await collect(answer(body), DEEPSEEK, REQUEST)
    assert events == [
        TextDelta("a"),
        TextDelta("b"),
        Finish("stop", "stop", notes=("1 unreadable chunk skipped",)),
    ]


async def test_it_counts_every_skipped_chunk_and_a_missing_end_marker() -> None:
    body = sse(chunk("a"), "{oops", "{again", chunk("b", "stop"))
    finish = terminal(await collect(answer(body), DEEPSEEK, REQUEST))
    assert isinstance(finish, Finish)
    assert finish.notes == ("2 unreadable chunks skipped", "stream ended without its end marker")


async def test_it_still_fails_a_malformed_stream_that_never_finished() -> None:
    body = sse(chunk("a"), '{"choices": [', "[DONE]")
    error = terminal(await collect(answer(body), DEEPSEEK, REQUEST))
    assert isinstance(error, ProviderError)
    assert error.kind == ErrorKind.PROTOCOL
    assert "1 unreadable chunk" in error.message


async def test_it_reads_an_error_object_inside_a_200_stream() -> None:
    # DashScope/vLLM style (docs/providers.md, Errors / vLLM)
    error_line = json.dumps(
        {
            "error": {
                "code": "DataInspectionFailed",
                "message": "Output data may contain inappropriate content.",
                "type": "data_inspection_failed",
            }
        }
    )
    target = Target("dashscope", "https://dashscope.aliyuncs.com/compatible-mode/v1", KEY)
    events = await collect(answer(sse(chunk("Once"), error_line)), target, REQUEST)
    assert events[0] == TextDelta("Once")
    error = terminal(events)
    assert (error.kind, error.retryable) == (ErrorKind.BAD_REQUEST, False)
    assert error.provider_message == "Output data may contain inappropriate content."
    assert "Alibaba DashScope (Qwen) rejected the request" in error.message


async def test_it_reads_a_json_error_that_was_not_framed_as_a_stream() -> None:
    body = b'{"error":{"message":"model not loaded","type":"server_error"}}'
    events = await collect(answer(body), DEEPSEEK, REQUEST)
    error = terminal(events)
    assert error.provider_message == "model not loaded"


async def test_it_reads_a_json_answer_when_the_server_ignored_stream_true() -> None:
    body = json.dumps(
        {"choices": [{"message": {"content": "def f"}, "finish_reason": "stop"}]}
    ).encode()
    events = await collect(answer(body, content_type="application/json"), DEEPSEEK, REQUEST)
    assert events == [TextDelta("def f"), Finish("stop", "stop")]


async def test_it_refuses_a_web_page_where_an_api_answer_was_expected() -> None:
    events = await collect(
        answer(b"<html>login</html>", content_type="text/html"), DEEPSEEK, REQUEST
    )
    error = terminal(events)
    assert error.kind == ErrorKind.PROTOCOL
    assert not error.retryable
    assert "Check the base URL" in error.message


async def test_it_separates_reasoning_from_text() -> None:
    body = sse(
        json.dumps({"choices": [{"delta": {"reasoning_content": "Compare tenths."}}]}),
        json.dumps({"choices": [{"delta": {"content": "9.8"}, "finish_reason": "stop"}]}),
        "[DONE]",
    )
    events = await collect(answer(body), DEEPSEEK, REQUEST)
    assert events == [ReasoningDelta("Compare tenths."), TextDelta("9.8"), Finish("stop", "stop")]


async def test_it_strips_mistrals_streamed_echo_split_across_chunks() -> None:
    target = Target("mistral", "https://api.mistral.ai/v1", KEY)
    request = CompletionRequest("mistral-small-latest", "Shakespeare: ")
    body = sse(chunk("Shake"), chunk("speare"), chunk(": Good"), chunk(" morrow", "stop"), "[DONE]")
    events = await collect(answer(body), target, request)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Good morrow"
    assert events[-1] == Finish("stop", "stop")


async def test_it_keeps_the_users_whitespace_when_anthropic_trims_it() -> None:
    target = Target("anthropic", "https://api.anthropic.com", KEY)
    request = CompletionRequest("claude-haiku-4-5", "```python\n", turns=(Turn("user", "f"),))
    call = prepare(target, request)
    assert call.body["messages"] == [
        {"role": "user", "content": "f"},
        {"role": "assistant", "content": "```python"},
    ]

    def events_for(text: str) -> bytes:
        delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}
        stop = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}
        return sse(json.dumps(delta), json.dumps(stop), '{"type":"message_stop"}')

    for output in ("\ndef f", "def f"):
        result = await complete(answer(events_for(output)), target, request, allow_private=True)
        assert request.prefix + result.text == "```python\ndef f"


async def test_it_closes_the_upstream_response_when_the_consumer_is_cancelled() -> None:
    stream = Trickle([sse(chunk("a"))], every=0.01)
    client = streaming(stream)
    got_text = asyncio.Event()

    async def consume() -> None:
        async for event in stream_completion(client, DEEPSEEK, REQUEST, allow_private=True):
            if isinstance(event, TextDelta):
                got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), HANG_GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.closed


async def test_it_closes_the_upstream_response_when_the_consumer_leaves_early() -> None:
    stream = Chunks([sse(chunk("a"), chunk("b"), chunk("c", "stop"))])
    client = streaming(stream)
    events = stream_completion(client, DEEPSEEK, REQUEST, allow_private=True)
    async with aclosing(events):
        async for _ in events:
            break
    assert stream.closed


async def test_it_refuses_before_sending_and_sends_nothing() -> None:
    seen: list[httpx.Request] = []
    target = Target("openai", "https://api.openai.com/v1", KEY)
    events = await collect(answer(b"", seen=seen), target, CompletionRequest("gpt-4o-mini", "{"))
    (error,) = events
    assert isinstance(error, ProviderError)
    assert error.kind == ErrorKind.UNSUPPORTED
    assert "answers afresh" in error.message
    assert seen == []


async def test_it_applies_the_base_url_policy_before_sending() -> None:
    seen: list[httpx.Request] = []
    target = Target("vllm", "http://127.0.0.1:8000/v1", KEY)
    events = [
        e
        async for e in stream_completion(
            answer(b"", seen=seen), target, CompletionRequest("m", "x"), allow_private=False
        )
    ]
    (error,) = events
    assert isinstance(error, ProviderError)
    assert error.kind == ErrorKind.UNSAFE_URL
    assert seen == []


async def test_it_checks_the_addresses_a_host_name_resolves_to(monkeypatch: Any) -> None:
    async def resolves_to_metadata_service(*args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))]

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", resolves_to_metadata_service)
    seen: list[httpx.Request] = []
    target = Target("openrouter", "https://rebind.example.com/api/v1", KEY)
    events = [
        e
        async for e in stream_completion(
            answer(b"", seen=seen), target, CompletionRequest("m", "x")
        )
    ]
    assert [e.kind for e in events if isinstance(e, ProviderError)] == [ErrorKind.UNSAFE_URL]
    assert seen == []


async def test_it_records_what_inspect_shows_without_the_key() -> None:
    body = sse(chunk("x", "stop"), "[DONE]")

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "set-cookie": "s=1", "x-request-id": "r1"}
        return httpx.Response(200, headers=headers, stream=Chunks([body]))

    recorder = Recorder()
    await collect(client_for(handler), DEEPSEEK, REQUEST, recorder=recorder)
    assert recorder.request is not None
    assert recorder.request.headers["Authorization"] == "Bearer [redacted]"
    assert KEY not in repr(recorder.request)
    assert recorder.status == 200
    assert recorder.response_headers["x-request-id"] == "r1"
    assert "set-cookie" not in recorder.response_headers
    assert recorder.raw == body.decode()


async def test_it_caps_the_recorded_body_and_says_so() -> None:
    chunks = [sse(chunk("y" * 1000)) for _ in range(400)] + [sse(chunk("", "stop"), "[DONE]")]
    recorder = Recorder()
    events = await collect(answer(chunks), DEEPSEEK, REQUEST, recorder=recorder)
    assert events[-1] == Finish("stop", "stop")
    assert len(recorder.raw.encode()) < 256 * 1024 + 100
    assert recorder.raw.endswith("more bytes]")
    assert "[truncated …" in recorder.raw


async def test_it_never_lets_the_key_out_in_events_or_records() -> None:
    leaky = json.dumps({"error": {"message": f"bad key {KEY}", "type": "authentication_error"}})
    recorder = Recorder()
    client = answer(leaky.encode(), status=401, content_type="application/json")
    events = await collect(client, DEEPSEEK, REQUEST, recorder=recorder)
    for text in [repr(e) for e in events] + [str(e) for e in events] + [recorder.raw]:
        assert KEY not in text
    assert KEY not in repr(DEEPSEEK)
    assert KEY not in repr(prepare(DEEPSEEK, REQUEST))


async def test_it_gathers_a_whole_completion_with_notes() -> None:
    target = Target("dashscope", "https://dashscope.aliyuncs.com/compatible-mode/v1", KEY)
    request = CompletionRequest("qwen-plus", "Once", thinking=True)
    body = sse(
        chunk(" upon"),
        chunk(" a time", "stop"),
        json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}),
        "[DONE]",
    )
    result = await complete(answer(body), target, request, allow_private=True)
    assert result.text == " upon a time"
    assert result.usage == Usage(5, 3)
    assert result.finish == Finish("stop", "stop")
    assert result.error is None
    assert result.notes == ("Thinking was switched off: DashScope partial mode cannot think.",)
