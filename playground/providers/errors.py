"""Provider failures, in words a user understands, with a retry hint and never the key.

    ProviderError(kind=...)
      refused before sending .. UNSUPPORTED (the target cannot do this), UNSAFE_URL (SSRF policy)
      the provider said no .... AUTH, BALANCE, RATE_LIMIT*, OVERLOADED*, BAD_REQUEST, NOT_FOUND,
                                SERVER*   (from the HTTP status and the provider's error body,
                                           or from an error object inside a 200 stream)
      the transport failed .... CONNECTION*, FIRST_TOKEN_TIMEOUT*, STALLED*, PROTOCOL*
                                                                  (* retryable)

Error bodies come in several shapes: OpenAI-style `{"error": {...}}` (DeepSeek, DashScope,
OpenRouter, newer vLLM), Mistral's flat `{"object": "error", ...}` or `{"code": "3230", ...}`,
Anthropic's `{"type": "error", "error": {...}}` and Ollama's `{"error": "text"}`.
"""

from __future__ import annotations

import base64
import bisect
import functools
import html.entities
import json
import re
from enum import StrEnum

PROVIDER_MESSAGE_LIMIT = 500


class ErrorKind(StrEnum):
    AUTH = "auth"
    BALANCE = "balance"
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    SERVER = "server"
    FIRST_TOKEN_TIMEOUT = "first_token_timeout"
    STALLED = "stalled"
    CONNECTION = "connection"
    PROTOCOL = "protocol"
    UNSUPPORTED = "unsupported"
    UNSAFE_URL = "unsafe_url"


RETRYABLE = frozenset(
    {
        ErrorKind.RATE_LIMIT,
        ErrorKind.OVERLOADED,
        ErrorKind.SERVER,
        ErrorKind.FIRST_TOKEN_TIMEOUT,
        ErrorKind.STALLED,
        ErrorKind.CONNECTION,
        ErrorKind.PROTOCOL,
    }
)


class ProviderError(Exception):
    """A failed or refused completion; `message` is for people, `provider_message` is verbatim."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retryable: bool | None = None,
        status: int | None = None,
        provider_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = kind in RETRYABLE if retryable is None else retryable
        self.status = status
        self.provider_message = provider_message

    def _fields(self) -> tuple[object, ...]:
        return (self.kind, self.message, self.retryable, self.status, self.provider_message)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProviderError):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"ProviderError(kind={self.kind.value!r}, message={self.message!r}, "
            f"retryable={self.retryable!r}, status={self.status!r})"
        )


def unsupported(message: str) -> ProviderError:
    """Return the error for a request refused before sending."""
    return ProviderError(ErrorKind.UNSUPPORTED, message, retryable=False)


KEY_PIECE = 8
SHORT_TEXT = 4096
# How an escape starts: JSON "\\u0073" (and "\\/"), URL "%73", HTML "&#115;" or "&sol;".
_ESCAPE_STARTS = ("\\u", "\\/", "%", "&")
_ENTITIES: dict[str, list[str]] = {}
for _name, _value in html.entities.html5.items():
    if len(_value) == 1 and _name.endswith(";"):
        _ENTITIES.setdefault(_value, []).append(_name)
_URLSAFE = str.maketrans("+/", "-_")


def scrub(text: str, api_key: str) -> str:
    """Return `text` with the key, and any 8+ character piece of it, replaced by "[key]".

    Also found: the key written with escapes, in any mix with plain characters (JSON `\\uXXXX`
    and `\\/`, URL `%XX`, HTML `&#NN;`, `&#xHH;` and named entities), and the key in base64.
    Text that holds no piece of the key costs a few C-speed substring searches.
    """
    if not api_key:
        return text
    # A streamed delta: one regex pass finds anything any step below would act on.
    short = len(api_key) >= KEY_PIECE and len(text) < SHORT_TEXT
    if short and _suspect_pattern(api_key).search(text) is None:
        return text
    text = text.replace(api_key, "[key]")
    if len(api_key) < KEY_PIECE:
        return text
    windows = _windows(api_key)
    for form in _base64_forms(api_key):
        if form in text:
            text = text.replace(form, "[key]")
    if any(start in text for start in _ESCAPE_STARTS):
        # First, so that a key with one escaped character becomes one "[key]", not two.
        text = _scrub_escaped(text, api_key, windows)
    if _has_piece(text, api_key, windows):
        text = _replace(text, _piece_spans(text, api_key, windows))
    return text


def _has_piece(text: str, api_key: str, windows: frozenset[str]) -> bool:
    """Return whether any 8-character piece of the key occurs in `text`."""
    if len(text) < SHORT_TEXT:  # a streamed delta: one regex pass in C
        return _pieces_pattern(api_key).search(text) is not None
    # A body (the raw response saved at a column's end): every 8-character window holds one of
    # the key's 5-character pieces at a multiple of 4, so a quarter of the searches rule most
    # bodies out; a body with such a piece is searched for the windows themselves.
    if not any(gram in text for gram in _grams(api_key)):
        return False
    return any(window in text for window in windows)  # a fast substring search each


def _piece_spans(text: str, api_key: str, windows: frozenset[str]) -> list[tuple[int, int]]:
    """Return the (start, end) of every run of `text` that is a piece of the key (linear)."""
    # Some providers echo a shortened key ("sk-abcd****wxyz"): find every run of the text
    # that is a piece of the key, starting from the key's 8-character windows.
    spans = []
    i = 0
    while i <= len(text) - KEY_PIECE:
        if text[i : i + KEY_PIECE] not in windows:
            i += 1
            continue
        end = i + KEY_PIECE
        while end < len(text) and text[i : end + 1] in api_key:
            end += 1
        spans.append((i, end))
        i = end
    return spans


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    kept: list[str] = []
    start = 0
    for begin, end in spans:
        kept += [text[start:begin], "[key]"]
        start = end
    kept.append(text[start:])
    return "".join(kept)


# The relay scrubs each column's text several times a second with the same key: what is derived
# from a key is computed once. Sized above the keys one process streams with at once (a cache
# smaller than that is emptied round-robin and never hits); a few KB per key.
KEY_CACHE_SIZE = 1024


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _windows(api_key: str) -> frozenset[str]:
    """Return every 8-character piece of the key."""
    return frozenset(api_key[i : i + KEY_PIECE] for i in range(len(api_key) - KEY_PIECE + 1))


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _grams(api_key: str) -> tuple[str, ...]:
    """Return the key's 5-character pieces that start at a multiple of 4.

    The window key[i : i + 8] contains key[j : j + 5] for the first multiple of 4, j, from i
    (j <= i + 3, so j + 5 <= i + 8): a text without any of these holds no window of the key.
    """
    return tuple(api_key[j : j + 5] for j in range(0, len(api_key) - 4, 4))


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _pieces_pattern(api_key: str) -> re.Pattern[str]:
    """Return a regex that finds any 8-character piece of the key."""
    return re.compile("|".join(re.escape(window) for window in sorted(_windows(api_key))))


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _suspect_pattern(api_key: str) -> re.Pattern[str]:
    """Return a regex that finds whatever `scrub` could change: an 8-character piece of the key,
    one of its base64 forms, or the start of an escape (the escaped forms are checked after)."""
    literals = sorted(_windows(api_key) | _base64_forms(api_key)) + list(_ESCAPE_STARTS)
    return re.compile("|".join(re.escape(literal) for literal in literals))


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _base64_forms(api_key: str) -> frozenset[str]:
    """Return the base64 (standard and URL-safe) of the key at each of the 3 byte alignments,
    without the edge characters that depend on the bytes around it."""
    raw = api_key.encode()
    forms = set()
    for shift in range(3):
        data = b"\0" * shift + raw
        encoded = base64.b64encode(data).decode()
        core = encoded[-(-shift * 8 // 6) : len(data) * 8 // 6]
        if len(core) >= KEY_PIECE:
            forms |= {core, core.translate(_URLSAFE)}
    return frozenset(forms)


def _hex(number: int, width: int = 0) -> str:
    """Return `number` in hex as a regex that matches either case ("6[bB]")."""
    digits = f"{number:0{width}x}"
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


@functools.lru_cache(maxsize=64)
def _escape_pattern(api_key: str) -> re.Pattern[str]:
    """Return a regex matching one escaped character of the key, in any of the escapings."""
    # Case-sensitive, with both cases spelled out: IGNORECASE would cost the regex engine its
    # fast scan for the three characters an escape can start with.
    codes = sorted({ord(c) for c in api_key if ord(c) <= 0xFFFF})
    small = [code for code in codes if code < 128]
    forms = [
        # Any number of backslashes: JSON inside JSON writes "\\\\u0073".
        r"\\+u(?:" + "|".join(_hex(code, 4) for code in codes) + ")",
        "&#(?:[xX]0*(?:" + "|".join(_hex(code) for code in codes) + ")"
        "|0*(?:" + "|".join(str(code) for code in codes) + "));",
    ]
    if small:
        forms.append("%(?:" + "|".join(_hex(code, 2) for code in small) + ")")
    names = [name for c in sorted(set(api_key)) for name in _ENTITIES.get(c, ())]
    if names:
        forms.append("&(?:" + "|".join(re.escape(name) for name in names) + ")")
    if "/" in api_key:
        forms.append(r"\\+/")
    return re.compile("|".join(forms))


def _unescape(token: str) -> str:
    if token.startswith("\\"):
        token = token.lstrip("\\")
        return "/" if token == "/" else chr(int(token[1:], 16))
    lowered = token.lower()
    if token.startswith("%"):
        return chr(int(token[1:], 16))
    if lowered.startswith("&#x"):
        return chr(int(token[3:-1], 16))
    if token.startswith("&#"):
        return chr(int(token[2:-1]))
    return html.entities.html5.get(token[1:], "\0")


def _scrub_escaped(text: str, api_key: str, windows: frozenset[str]) -> str:
    """Return `text` with every piece of the key that is written partly or wholly escaped
    replaced by "[key]": find the pieces in a copy with the escapes undone, then map back."""
    pattern = _escape_pattern(api_key)
    if pattern.search(text) is None:
        return text  # no character of the key is escaped anywhere: nothing more to find
    pieces: list[str] = []
    escapes: list[tuple[int, int, int]] = []  # (index in the decoded copy, start, end)
    position = decoded_length = 0
    for match in pattern.finditer(text):
        plain = text[position : match.start()]
        pieces += [plain, _unescape(match.group())]
        decoded_length += len(plain)
        escapes.append((decoded_length, match.start(), match.end()))
        decoded_length += 1
        position = match.end()
    pieces.append(text[position:])
    decoded = "".join(pieces)
    if not any(window in decoded for window in windows):
        return text
    starts = [escape[0] for escape in escapes]

    def original(index: int, *, end: bool) -> int:
        found = bisect.bisect_right(starts, index) - 1
        if found < 0:
            return index + end
        at, begin, finish = escapes[found]
        if at == index:
            return finish if end else begin
        return finish + (index - at - 1) + end

    spans = [
        (original(begin, end=False), original(finish - 1, end=True))
        for begin, finish in _piece_spans(decoded, api_key, windows)
    ]
    return _replace(text, spans)


def error_fields(payload: object) -> tuple[str, str, str]:
    """Return (message, type, code) from any known error body shape; empty strings if absent."""
    if not isinstance(payload, dict):
        return "", "", ""
    inner = payload.get("error")
    if isinstance(inner, str):
        return inner, "", ""
    source = inner if isinstance(inner, dict) else payload
    message = source.get("message") or source.get("msg") or ""
    etype = source.get("type") or ""
    code = source.get("code")
    return str(message), str(etype), "" if code is None else str(code)


def classify(status: int | None, etype: str, code: str, message: str) -> ErrorKind:
    """Return the kind of a provider error from its HTTP status and body fields."""
    lowered = f"{etype} {code} {message}".lower()
    if status in (401, 403) or etype in ("authentication_error", "permission_error"):
        return ErrorKind.AUTH
    if code in ("InvalidApiKey", "invalid_api_key"):
        return ErrorKind.AUTH
    if status == 402 or code in ("Arrearage", "insufficient_quota") or etype == "billing_error":
        return ErrorKind.BALANCE
    if "insufficient balance" in lowered or "insufficient_balance" in lowered:
        return ErrorKind.BALANCE
    if status == 429 or etype == "rate_limit_error" or "throttling" in lowered:
        return ErrorKind.RATE_LIMIT
    if status in (503, 529) or etype == "overloaded_error":
        return ErrorKind.OVERLOADED
    if status == 404 or etype == "not_found_error":
        return ErrorKind.NOT_FOUND
    if status is not None and 300 <= status < 400:
        return ErrorKind.NOT_FOUND
    if status is not None and 400 <= status < 500:
        return ErrorKind.BAD_REQUEST
    if "datainspectionfailed" in lowered or "data_inspection_failed" in lowered:
        return ErrorKind.BAD_REQUEST  # DashScope's content moderation: retrying cannot help
    if status is None and etype in ("invalid_request_error", "BadRequestError"):
        return ErrorKind.BAD_REQUEST
    return ErrorKind.SERVER


def describe(kind: ErrorKind, provider: str, status: int | None, detail: str) -> str:
    """Return the human message for a provider error of `kind`."""
    code = f" ({status})" if status else ""
    said = f" It said: {detail}" if detail else ""
    match kind:
        case ErrorKind.AUTH:
            return (
                f"The API key was rejected by {provider}{code}. "
                "Check the key and that it belongs to this region/base URL."
            )
        case ErrorKind.BALANCE:
            return (
                f"{provider} reports insufficient balance{code}. "
                "Top up the account or use another key."
            )
        case ErrorKind.RATE_LIMIT:
            return f"{provider} is rate limiting this key{code}. Wait a little and try again."
        case ErrorKind.OVERLOADED:
            return f"{provider} is overloaded right now{code}. Try again in a moment."
        case ErrorKind.NOT_FOUND:
            return (
                f"{provider} answered{code} that the model or URL does not exist: "
                f"check the model id and the base URL.{said}"
            )
        case ErrorKind.BAD_REQUEST:
            return f"{provider} rejected the request{code}: {detail or 'no reason given.'}"
        case _:
            where = code or " in the middle of the stream"
            return f"{provider} had a server error{where}. Try again in a moment.{said}"


def from_body(provider: str, status: int | None, body: str, api_key: str) -> ProviderError:
    """Return the error for an HTTP error response (or an error object inside a stream)."""
    try:
        payload: object = json.loads(body)
    except ValueError:
        payload = None
    message, etype, code = error_fields(payload)
    if payload is None and not body.lstrip().startswith("<"):
        # Plain-text bodies are worth showing; HTML error pages from proxies are not.
        message = body.strip()
    detail = scrub(message, api_key)[:PROVIDER_MESSAGE_LIMIT]
    if status is None and code.isdigit() and 400 <= int(code) < 600:
        status = int(code)  # OpenRouter and vLLM put the HTTP status in the error's code
    kind = classify(status, etype, code, message)
    if status is not None and 300 <= status < 400:
        text = (
            f"{provider} redirected the request ({status}). Redirects are not followed: "
            "check the base URL."
        )
    else:
        text = describe(kind, provider, status, detail)
    return ProviderError(kind, text, status=status, provider_message=detail or None)


def from_payload(provider: str, payload: dict[str, object], api_key: str) -> ProviderError:
    """Return the error for an error object that arrived inside a 200 stream."""
    return from_body(provider, None, json.dumps(payload), api_key)
