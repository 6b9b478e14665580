"""HTTP failures become ProviderErrors: one clear message per case, a retry hint, never the key."""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse

import pytest

from playground.providers import (
    CompletionRequest,
    ErrorKind,
    ProviderError,
    Recorder,
    Target,
)
from playground.providers.errors import from_body, scrub
from tests.providers.helpers import KEY, answer, collect

pytestmark = pytest.mark.anyio

# One body per documented shape (docs/providers.md, Errors).
CASES = [
    # (status, body, kind, retryable, provider message)
    (
        401,
        '{"error":{"message":"Authentication Fails (no such user)","type":"authentication_error",'
        '"param":null,"code":"invalid_request_error"}}',
        ErrorKind.AUTH,
        False,
        "Authentication Fails (no such user)",
    ),
    (
        402,
        '{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,'
        '"code":"invalid_request_error"}}',
        ErrorKind.BALANCE,
        False,
        "Insufficient Balance",
    ),
    (
        400,
        '{"error":{"code":"Arrearage","param":null,"message":"Access denied, please make sure '
        'your account is in good standing.","type":"Arrearage"},"request_id":"214720c8-1"}',
        ErrorKind.BALANCE,
        False,
        "Access denied, please make sure your account is in good standing.",
    ),
    (
        401,
        '{"error":{"code":"InvalidApiKey","param":null,"message":"Invalid API-key provided.",'
        '"type":"invalid_request_error"},"request_id":"9a2b"}',
        ErrorKind.AUTH,
        False,
        "Invalid API-key provided.",
    ),
    (
        429,
        '{"error":{"message":"Rate Limit Reached","type":"rate_limit_error"}}',
        ErrorKind.RATE_LIMIT,
        True,
        "Rate Limit Reached",
    ),
    (
        503,
        '{"error":{"message":"Server Overloaded","type":"server_error"}}',
        ErrorKind.OVERLOADED,
        True,
        "Server Overloaded",
    ),
    (
        529,
        '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
        ErrorKind.OVERLOADED,
        True,
        "Overloaded",
    ),
    (
        500,
        '{"error":{"message":"Server Error","type":"server_error"}}',
        ErrorKind.SERVER,
        True,
        "Server Error",
    ),
    (502, "<html><body>Bad Gateway</body></html>", ErrorKind.SERVER, True, None),
    (504, "upstream request timeout", ErrorKind.SERVER, True, "upstream request timeout"),
    (
        400,
        '{"object":"error","message":"Expected last role User or Tool (or Assistant with prefix '
        'True) for serving but got assistant","type":"invalid_request_error","param":null,'
        '"code":null}',
        ErrorKind.BAD_REQUEST,
        False,
        "Expected last role User or Tool (or Assistant with prefix True) for serving but got "
        "assistant",
    ),
    (
        400,
        '{"code":"3230","message":"Expected last role User or Tool","type":'
        '"invalid_request_message_order"}',
        ErrorKind.BAD_REQUEST,
        False,
        "Expected last role User or Tool",
    ),
    (
        400,
        '{"type":"error","error":{"type":"invalid_request_error","message":"final assistant '
        'content cannot end with trailing whitespace"}}',
        ErrorKind.BAD_REQUEST,
        False,
        "final assistant content cannot end with trailing whitespace",
    ),
    (
        422,
        '{"error":{"message":"Invalid Parameters","type":"invalid_request_error"}}',
        ErrorKind.BAD_REQUEST,
        False,
        "Invalid Parameters",
    ),
    (
        400,
        '{"object":"error","message":"Cannot set both `continue_final_message` and '
        '`add_generation_prompt` to True.","type":"BadRequestError","param":null,"code":400}',
        ErrorKind.BAD_REQUEST,
        False,
        "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
    ),
    (
        404,
        '{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}',
        ErrorKind.NOT_FOUND,
        False,
        "model: claude-x",
    ),
    (
        404,
        '{"error":"model \\"llama9\\" not found, try pulling it first"}',
        ErrorKind.NOT_FOUND,
        False,
        'model "llama9" not found, try pulling it first',
    ),
    (
        403,
        '{"type":"error","error":{"type":"permission_error","message":"Not allowed"}}',
        ErrorKind.AUTH,
        False,
        "Not allowed",
    ),
    (
        402,
        '{"error":{"code":402,"message":"Insufficient credits","metadata":{}}}',
        ErrorKind.BALANCE,
        False,
        "Insufficient credits",
    ),
]


@pytest.mark.parametrize(("status", "body", "kind", "retryable", "said"), CASES)
async def test_it_maps_each_status_and_body_shape(
    status: int, body: str, kind: ErrorKind, retryable: bool, said: str | None
) -> None:
    target = Target("deepseek", "https://api.deepseek.com", KEY)
    recorder = Recorder()
    client = answer(body.encode(), status=status, content_type="application/json")
    events = await collect(
        client, target, CompletionRequest("deepseek-chat", "x"), recorder=recorder
    )
    assert len(events) == 1
    error = events[0]
    assert isinstance(error, ProviderError)
    assert (error.kind, error.retryable, error.status) == (kind, retryable, status)
    assert error.provider_message == said
    assert "DeepSeek" in error.message
    assert recorder.status == status
    assert recorder.raw == body


def test_it_words_the_auth_error_as_documented() -> None:
    error = from_body("DeepSeek", 401, '{"error":{"message":"no"}}', KEY)
    assert error.message == (
        "The API key was rejected by DeepSeek (401). Check the key and that it belongs to "
        "this region/base URL."
    )


def test_it_quotes_the_providers_own_message_for_a_bad_request() -> None:
    body = '{"error":{"message":"prefix is only available when using beta api"}}'
    error = from_body("DeepSeek", 400, body, KEY)
    assert error.message == (
        "DeepSeek rejected the request (400): prefix is only available when using beta api"
    )


def test_it_says_redirects_are_not_followed() -> None:
    error = from_body("vLLM", 301, "", KEY)
    assert error.kind == ErrorKind.NOT_FOUND
    assert "Redirects are not followed" in error.message


def test_it_scrubs_the_key_and_pieces_of_it_from_provider_messages() -> None:
    body = (
        '{"error":{"message":"Incorrect API key provided: '
        + KEY
        + " (also seen as "
        + KEY[:12]
        + '****)"}}'
    )
    error = from_body("OpenRouter", 401, body, KEY)
    for text in (error.message, error.provider_message or "", repr(error), str(error)):
        assert KEY not in text
        assert KEY[:12] not in text
    assert "[key]" in (error.provider_message or "")


def test_it_scrubs_in_linear_time_on_large_text() -> None:
    text = ("x" * 1000 + KEY[5:20]) * 300
    assert KEY[5:20] not in scrub(text, KEY)


@pytest.mark.parametrize("key", [KEY, "sk-0123456789", "abcdefgh", "sk-ant-api03-" + "Qx7" * 21])
def test_every_8_character_piece_of_the_key_is_found_in_a_long_body(key: str) -> None:
    # A body (over 4 KiB) is first searched for a quarter of the key's pieces; every window,
    # wherever it starts, must still be found and removed.
    filler = '{"choices":[{"delta":{"content":"The quick brown fox"}}]}\n' * 100
    for start in range(len(key) - 7):
        for size in (8, 9, 13):
            piece = key[start : start + size]
            if len(piece) < 8:
                continue
            body = filler + "data: " + piece + "\n" + filler
            assert piece not in scrub(body, key), (start, size)
    assert scrub(filler * 2, key) == filler * 2


def test_it_compares_errors_by_value() -> None:
    one = ProviderError(ErrorKind.STALLED, "stopped")
    assert one == ProviderError(ErrorKind.STALLED, "stopped", retryable=True)
    assert one != ProviderError(ErrorKind.STALLED, "stopped", retryable=False)
    assert one.retryable
    assert not ProviderError(ErrorKind.AUTH, "no").retryable


def _json_escaped(text: str, every: int = 1) -> str:
    return "".join(f"\\u{ord(c):04x}" if i % every == 0 else c for i, c in enumerate(text))


ESCAPED_KEY = "sk-ab/Cd+Ef_0123456789xyzXYZ"


@pytest.mark.parametrize(
    "form",
    [
        _json_escaped(ESCAPED_KEY),
        _json_escaped(ESCAPED_KEY, every=3),  # a mix of escaped and plain characters
        _json_escaped(ESCAPED_KEY).replace("\\u00", "\\u00").upper().replace("\\U", "\\u"),
        json.dumps(_json_escaped(ESCAPED_KEY))[1:-1],  # escaped twice: JSON inside JSON
        ESCAPED_KEY.replace("/", "\\/"),
        urllib.parse.quote(ESCAPED_KEY, safe=""),
        "".join(f"%{ord(c):02X}" for c in ESCAPED_KEY),
        html.escape(ESCAPED_KEY).replace("/", "&#47;").replace("+", "&plus;"),
        "".join(f"&#x{ord(c):x};" for c in ESCAPED_KEY),
        "".join(f"&#{ord(c)};" for c in ESCAPED_KEY),
        base64.b64encode(ESCAPED_KEY.encode()).decode(),
        base64.b64encode(f"Bearer {ESCAPED_KEY}".encode()).decode(),
        base64.urlsafe_b64encode(f"u:{ESCAPED_KEY}".encode()).decode(),
        _json_escaped(ESCAPED_KEY[:12]) + "****",  # an escaped piece of the key
    ],
)
def test_it_scrubs_the_key_in_every_escaping(form: str) -> None:
    scrubbed = scrub(f"before {form} after", ESCAPED_KEY)

    assert "[key]" in scrubbed
    assert scrubbed.startswith("before ")
    assert scrubbed.endswith(" after")
    assert form not in scrubbed
    decoded = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), scrubbed)
    decoded = html.unescape(urllib.parse.unquote(decoded))
    assert not any(ESCAPED_KEY[i : i + 8] in decoded for i in range(len(ESCAPED_KEY) - 7))


def test_it_leaves_escapes_of_other_text_alone() -> None:
    text = 'caf\\u00e9 \\/ 100%20 &amp; &#47; {"k": "v"}'

    assert scrub(text, ESCAPED_KEY) == text
