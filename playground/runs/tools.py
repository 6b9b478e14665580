"""What a column's tools show: the request as code, the exchange as recorded, two columns' diff.

None of it reaches a key: exports are built from a target holding a stand-in key, which the provider
layer writes as an environment-variable placeholder, and recorded requests were redacted by the
provider layer before they were saved.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from playground.providers import ProviderError, Target, get_provider, to_curl, to_python
from playground.providers.errors import scrub

from .diff import Piece, similarity, word_diff
from .models import RunColumn, Segment
from .streaming import completion_request, upload_resolver

# Any non-empty stand-in: the export writes the provider's environment variable instead.
KEY_STAND_IN = "key-from-environment"


def _target(column: RunColumn) -> Target:
    return Target(
        provider=column.provider,
        base_url=column.base_url,
        api_key=KEY_STAND_IN,
        dialect=column.dialect,
    )


@dataclass(frozen=True)
class ColumnCode:
    curl: str
    python: str
    key_env: str
    refusal: str = ""


DATA_URL_RE = re.compile(r"(data:image/[a-z+.-]+;base64,)[A-Za-z0-9+/=]{200,}")


def _shorten_images(code: str) -> str:
    # An uploaded image travels inline as base64; the export keeps its place, not its bytes.
    return DATA_URL_RE.sub(r"\1<base64 of your image>", code)


def column_code(column: RunColumn, segment: Segment) -> ColumnCode:
    """Return the segment's request as a curl command and a Python script."""
    request = completion_request(column.run, column, segment, upload_resolver(column.run))
    target = _target(column)
    try:
        key_env = get_provider(column.provider).key_env
    except KeyError:
        key_env = ""
    try:
        curl, python = to_curl(target, request), to_python(target, request)
        return ColumnCode(_shorten_images(curl), _shorten_images(python), key_env)
    except ProviderError as refusal:
        return ColumnCode("", "", key_env, refusal=refusal.message)


def pretty_json(value: Any) -> str:
    """Return `value` as indented JSON, keeping non-ASCII text readable."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Exchange:
    segment: Segment
    request_headers: str
    request_body: str
    response: str


def exchanges(column: RunColumn) -> list[Exchange]:
    """Return each segment's request as sent and response as received, for Inspect.

    The response is scrubbed of the column's key again, for exchanges saved before the
    provider layer caught escaped keys.
    """
    secret = column.credential.target().api_key if column.credential_id else ""
    found = []
    for segment in column.segment_list:
        dump = segment.request_dump or {}
        headers = "\n".join(f"{name}: {value}" for name, value in dump.get("headers", {}).items())
        found.append(
            Exchange(
                segment=segment,
                request_headers=headers,
                request_body=pretty_json(dump.get("body", {})) if dump else "",
                response=scrub(segment.response_raw, secret),
            )
        )
    return found


@dataclass(frozen=True)
class ColumnDiff:
    left: RunColumn
    right: RunColumn
    pieces: list[Piece]
    similarity: float


def diff_columns(left: RunColumn, right: RunColumn) -> ColumnDiff:
    """Return the word-level diff of two columns' full texts (prefix and continuation)."""
    return ColumnDiff(
        left,
        right,
        word_diff(left.full_text, right.full_text),
        round(similarity(left.full_text, right.full_text) * 100, 1),
    )
