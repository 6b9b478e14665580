"""The Recorder: what Inspect shows of one exchange, with the key never in it.

It keeps the redacted request, the response status and headers (no cookies) and the raw
response body as it came, capped at ~256 KiB with a "[truncated …]" marker.
"""

from __future__ import annotations

import codecs

import httpx

from playground.providers.base import PreparedCall
from playground.providers.errors import scrub

RAW_LIMIT = 256 * 1024
HIDDEN_HEADERS = frozenset({"set-cookie", "cookie"})


class Recorder:
    """What Inspect shows: the redacted request, the status, response headers, the raw body."""

    def __init__(self) -> None:
        self.request: PreparedCall | None = None
        self.status: int | None = None
        self.response_headers: dict[str, str] = {}
        # Bytes as they came, decoded when read: a decode per streamed chunk cost more than
        # keeping the chunk (bench/relay.py); the incremental decoder gives the same text.
        self._pieces: list[bytes] = []
        self._kept = 0
        self._dropped = 0
        self._secret = ""

    @property
    def raw(self) -> str:
        """Return the response body as it came (key scrubbed), capped at ~256 KiB."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = scrub(decoder.decode(b"".join(self._pieces)), self._secret)
        if self._dropped:
            text += f"\n[truncated … {self._dropped} more bytes]"
        return text

    def scrub(self, text: str) -> str:
        """Return `text` without the key this exchange was sent with (any escaping of it)."""
        return scrub(text, self._secret)

    def start(self, call: PreparedCall, secret: str) -> None:
        """Note the request (redacted) and the key to scrub from what comes back."""
        self.request = call.redacted()
        self._secret = secret

    def respond(self, response: httpx.Response) -> None:
        """Note the status and headers of the response."""
        self.status = response.status_code
        self.response_headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in HIDDEN_HEADERS
        }

    def record(self, chunk: bytes) -> None:
        """Keep `chunk` of the body, up to the cap; count what is dropped."""
        keep = chunk[: max(0, RAW_LIMIT - self._kept)]
        self._kept += len(keep)
        self._dropped += len(chunk) - len(keep)
        if keep:
            self._pieces.append(keep)
