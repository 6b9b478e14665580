"""SSE and NDJSON framing: comments, event names, CRLF, chunk splits, missing terminators."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.providers.sse import (
    FrameTooLarge,
    LineDecoder,
    NDJSONDecoder,
    SSEDecoder,
    SSEEvent,
)


def feed_all(decoder: SSEDecoder, chunks: list[bytes]) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.close()


def test_it_drops_comments_and_keep_alives() -> None:
    body = b': keep-alive\n\n: OPENROUTER PROCESSING\n\ndata: {"a":1}\n\n:\n\n'
    assert feed_all(SSEDecoder(), [body]) == [SSEEvent("", '{"a":1}')]


def test_it_keeps_the_event_name_with_its_data() -> None:
    body = b'event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {}\n\n'
    assert feed_all(SSEDecoder(), [body]) == [
        SSEEvent("message_start", '{"type":"message_start"}'),
        SSEEvent("ping", "{}"),
    ]


def test_it_forgets_an_event_name_that_had_no_data() -> None:
    body = b"event: orphan\n\ndata: x\n\n"
    assert feed_all(SSEDecoder(), [body]) == [SSEEvent("", "x")]


def test_it_handles_crlf_line_endings_even_split_between_chunks() -> None:
    chunks = [b"data: one\r", b"\n\r\n", b"data: two\r\n\r\n"]
    assert feed_all(SSEDecoder(), chunks) == [SSEEvent("", "one"), SSEEvent("", "two")]


def test_it_handles_lone_cr_line_endings() -> None:
    assert feed_all(SSEDecoder(), [b"data: one\r\rdata: two\r\r"]) == [
        SSEEvent("", "one"),
        SSEEvent("", "two"),
    ]


def test_it_reassembles_a_data_line_split_across_network_chunks() -> None:
    body = 'data: {"choices":[{"delta":{"content":"héllo 世界"}}]}\n\n'.encode()
    # Split inside the JSON and inside multi-byte UTF-8 characters.
    chunks = [body[i : i + 3] for i in range(0, len(body), 3)]
    assert feed_all(SSEDecoder(), chunks) == [
        SSEEvent("", '{"choices":[{"delta":{"content":"héllo 世界"}}]}')
    ]


def test_it_dispatches_a_last_event_that_has_no_blank_line_after_it() -> None:
    assert feed_all(SSEDecoder(), [b"data: [DONE]"]) == [SSEEvent("", "[DONE]")]


def test_it_strips_only_one_space_after_the_colon() -> None:
    assert feed_all(SSEDecoder(), [b"data:  two spaces\ndata:none\n\n"]) == [
        SSEEvent("", " two spaces\nnone")
    ]


def test_it_splits_lines_without_inventing_empty_ones() -> None:
    decoder = LineDecoder()
    assert decoder.feed(b"a\r") == []
    assert decoder.feed(b"\nb") == ["a"]
    assert decoder.close() == ["b"]


def test_it_splits_ndjson_records_and_skips_blank_lines() -> None:
    decoder = NDJSONDecoder()
    records = decoder.feed(b'{"a":1}\n\n{"b"') + decoder.feed(b":2}") + decoder.close()
    assert [record.data for record in records] == ['{"a":1}', '{"b":2}']


def test_a_line_that_never_ends_is_refused_at_the_limit() -> None:
    decoder = LineDecoder(limit=1000)
    with pytest.raises(FrameTooLarge):
        for _ in range(100):
            decoder.feed(b"x" * 100)
    # Under the limit, a line split over many chunks arrives whole.
    decoder = LineDecoder(limit=1000)
    assert [line for _ in range(9) for line in decoder.feed(b"y" * 100)] == []
    assert decoder.feed(b"\n") == ["y" * 900]


def test_an_event_of_many_data_lines_is_refused_at_the_limit() -> None:
    decoder = SSEDecoder(limit=1000)
    with pytest.raises(FrameTooLarge):
        for _ in range(100):
            decoder.feed(b"data: " + b"z" * 50 + b"\n")


def test_a_lone_cr_still_ends_its_line_when_the_next_chunk_has_no_break() -> None:
    decoder = LineDecoder()
    assert decoder.feed(b"first\r") == []  # could be half of a CRLF
    assert decoder.feed(b"second") == ["first"]
    assert decoder.close() == ["second"]


# Pieces a stream is made of: LF, CRLF and lone CR line ends, comments, event and data fields,
# multi-byte characters (which a chunk boundary can cut), and an invalid byte.
_PIECES = st.sampled_from(
    [
        b"\n",
        b"\r\n",
        b"\r",
        b": ka",
        b"event: delta",
        b"data: ",
        b'{"t":"x"}',
        b"caf\xc3\xa9",
        b"\xe2\x80\x94",
        b"\xf0\x9f\x98\x80",
        b"\xff",
        b"data:",
        b" ",
        b"id: 7",
    ]
)


def _reference_lines(body: bytes) -> list[str]:
    """The lines of a whole body, split the plain way (no chunks, no fast path)."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.data())
def test_lines_are_the_same_however_the_body_is_cut_into_chunks(
    pieces: list[bytes], data: st.DataObject
) -> None:
    # Whole-line chunks take LineDecoder's fast path, others the general one; a stream mixes
    # both, so the cut points are arbitrary and the lines must match the reference split.
    body = b"".join(pieces)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(body)), max_size=12)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    decoder = LineDecoder()
    lines = [line for chunk in chunks for line in decoder.feed(chunk)] + decoder.close()
    assert lines == _reference_lines(body)


def test_whole_event_chunks_after_a_split_one_are_read_alike() -> None:
    decoder = SSEDecoder()
    chunks = [b'data: {"a":', b"1}\n\n", b"data: two\n\n", b"event: e\ndata: 3\n\n", b"data: \xe2"]
    chunks.append(b"\x80\x94\n\n")
    assert feed_all(decoder, chunks) == [
        SSEEvent("", '{"a":1}'),
        SSEEvent("", "two"),
        SSEEvent("e", "3"),
        SSEEvent("", "—"),
    ]
