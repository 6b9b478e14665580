"""The tests' one event-stream reader (tests/streams.py) reads frames as EventSource does.

The frames are written as the relay writes them (tests/runs/test_relay.py checks that side)."""

from __future__ import annotations

from tests.streams import Frame, FrameReader, column_text, data_of, event_names, frames


def test_it_reads_what_the_relay_writes_whole_or_in_pieces() -> None:
    body = (
        ": open\n\nretry: 3000\n\n"
        + "event: col-0-text\ndata: a &lt;b&gt;\ndata: c\n\n"
        + ": ka\n\n"
        + "event: col-0-text\ndata: d\n\n"
        + "event: run-done\ndata: <p>1 done</p>\n\n"
    )
    expected = [
        Frame("col-0-text", "a &lt;b&gt;\nc"),
        Frame("col-0-text", "d"),
        Frame("run-done", "<p>1 done</p>"),
    ]
    assert frames(body) == expected
    reader = FrameReader()
    pieces = [reader.feed(body[i : i + 7]) for i in range(0, len(body), 7)]
    assert [frame for piece in pieces for frame in piece] == expected
    assert event_names(body.encode()) == ["col-0-text", "col-0-text", "run-done"]
    assert data_of(body, "col-0-text") == "a &lt;b&gt;\ncd"
    assert column_text(body, 0) == "a <b>\ncd"
    assert data_of(body, "col-1-text") == ""
