"""The one reader of a run's event stream in tests, reading it the way the page's EventSource does.

A frame ends at a blank line; its `event:` line names it and its `data:` lines, joined with
newlines, are its data; comment frames (`: open`, `: ka`) carry neither and are skipped
(docs/streaming.md, "SSE protocol"). Three ways in, one parser:
- `read_stream`: the whole body through Django's async test client;
- `AsgiStream`: straight through the ASGI app, to read part of a stream and then disconnect;
- `FrameReader.feed`: text as it arrives from anywhere (an httpx stream of a served site).
"""

from __future__ import annotations

import codecs
import html
from dataclasses import dataclass
from typing import Any

from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.test import Client


@dataclass(frozen=True)
class Frame:
    event: str
    data: str


class FrameReader:
    """Split text into frames as it arrives; a frame cut between two chunks waits for its end."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[Frame]:
        """Return the frames `text` completes."""
        self._buffer += text
        *complete, self._buffer = self._buffer.split("\n\n")
        return [frame for block in complete if (frame := _frame(block)) is not None]


def _frame(block: str) -> Frame | None:
    lines = block.split("\n")
    names = [line[len("event: ") :] for line in lines if line.startswith("event: ")]
    if not names:
        return None  # a comment, or nothing
    data = "\n".join(line[len("data: ") :] for line in lines if line.startswith("data: "))
    return Frame(names[0], data)


def frames(body: str | bytes) -> list[Frame]:
    """Return every frame of a whole stream body."""
    text = body.decode() if isinstance(body, bytes) else body
    return FrameReader().feed(text + "\n\n")


def event_names(body: str | bytes) -> list[str]:
    """Return the event name of every frame, in order."""
    return [frame.event for frame in frames(body)]


def data_of(body: str | bytes, event: str) -> str:
    """Return the data of every `event` frame joined, as the page appends it."""
    return "".join(frame.data for frame in frames(body) if frame.event == event)


def column_text(body: str | bytes, column: int) -> str:
    """Return the text column `column` streamed, unescaped (it travels as escaped HTML)."""
    return html.unescape(data_of(body, f"col-{column}-text"))


async def body_of(response: Any) -> str:
    """Return the whole body of a streaming response of Django's test client."""
    chunks = [chunk async for chunk in response.streaming_content]
    return "".join(chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in chunks)


async def read_stream(client: Any, run: Any) -> str:
    """Return the whole event stream of `run`, read through Django's async test client."""
    return await body_of(await client.get(f"/runs/{run.code}/stream/"))


def session_cookie(user: Any) -> str:
    """Return the value of a session cookie that signs `user` in."""
    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


def scope(path: str, cookie: str) -> dict[str, Any]:
    """Return the ASGI scope of a GET of `path` by the holder of session `cookie`."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", f"sessionid={cookie}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


class AsgiStream:
    """A run's stream read straight through Django's ASGI handler, which the test can leave.

    Django's handler is built here: importing playground.asgi would build the site's handler
    (and its static files middleware) before a live server's settings are in place.
    """

    def __init__(self, run: Any, cookie: str) -> None:
        path = f"/runs/{run.code}/stream/"
        self.communicator = ApplicationCommunicator(get_asgi_application(), scope(path, cookie))
        self.body = b""
        self.frames: list[Frame] = []
        self.ended = False
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._reader = FrameReader()

    async def open(self, timeout: float) -> int:
        """Send the request and return the response's status."""
        await self.communicator.send_input(
            {"type": "http.request", "body": b"", "more_body": False}
        )
        start = await self.communicator.receive_output(timeout=timeout)
        return int(start["status"])

    async def receive(self, timeout: float) -> None:
        """Read the next body message."""
        message = await self.communicator.receive_output(timeout=timeout)
        chunk = message.get("body", b"")
        self.body += chunk
        self.frames += self._reader.feed(self._decoder.decode(chunk))
        if not message.get("more_body", False):
            self.ended = True
            await self.communicator.wait(timeout=timeout)  # the handler closes the body file

    async def read_until_count(self, event: str, count: int, timeout: float) -> None:
        """Read until `count` frames of `event` have arrived."""
        while sum(1 for frame in self.frames if frame.event == event) < count:
            await self.receive(timeout)

    async def read_to_end(self, timeout: float) -> bytes:
        """Read until the response ends; return the whole body."""
        while not self.ended:
            await self.receive(timeout)
        return self.body

    async def disconnect(self, timeout: float) -> None:
        """Leave, as a closed tab does, and wait for the handler to finish."""
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(timeout=timeout)

    def text(self, column: int = 0) -> str:
        return column_text(self.body, column)
