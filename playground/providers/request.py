"""What every dialect builder shares: the call context, the plan it produces, and the checks
that refuse a request before anything is sent.

A `Plan` is a `PreparedCall` plus what the stream side needs to read the answer: the stream
format, the text the provider may echo back, and the whitespace trimmed from the prefix.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from playground.providers.base import CompletionRequest, PreparedCall, Target, Turn
from playground.providers.catalog import ModelInfo, Provider
from playground.providers.errors import unsupported

JSON = dict[str, object]


@dataclass(frozen=True)
class Context:
    target: Target
    request: CompletionRequest
    provider: Provider
    dialect: str
    model: ModelInfo
    base_url: str

    @property
    def name(self) -> str:
        """Return the provider's display name, for messages."""
        return self.provider.name


@dataclass(frozen=True)
class Plan:
    call: PreparedCall
    format: str
    provider_name: str
    dialect: str
    api_key: str = field(repr=False)
    echo: str = ""
    trimmed: str = ""


def headers_for(ctx: Context) -> tuple[dict[str, str], tuple[str, ...]]:
    """Return the request headers and the names of those that carry the key."""
    key = ctx.target.api_key
    if ctx.provider.auth == "x-api-key":
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        headers["content-type"] = "application/json"
        return headers, ("x-api-key",)
    if ctx.provider.auth == "bearer" and key:
        return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, (
            "Authorization",
        )
    return {"Content-Type": "application/json"}, ()


def make_plan(
    ctx: Context,
    url: str,
    body: JSON,
    notes: list[str],
    fmt: str,
    *,
    echo: str = "",
    trimmed: str = "",
) -> Plan:
    """Return the plan for a POST of `body` to `url`."""
    headers, secret = headers_for(ctx)
    call = PreparedCall("POST", url, headers, body, tuple(notes), secret)
    return Plan(call, fmt, ctx.name, ctx.dialect, ctx.target.api_key, echo=echo, trimmed=trimmed)


def check_prefix_support(ctx: Context, *, sends_prefix: bool) -> None:
    """Refuse before sending when this provider or model cannot continue a prefix."""
    if not sends_prefix:
        return
    if not ctx.provider.supports_prefix:
        raise unsupported(ctx.provider.unsupported_reason)
    if not ctx.model.prefix:
        raise unsupported(
            ctx.model.refuses_prefill_reason
            or f"{ctx.model.id} on {ctx.name} does not support prefix continuation."
        )


def check_images(ctx: Context) -> None:
    """Refuse images on assistant turns, on models without vision, or in an unusable form."""
    for turn in ctx.request.turns:
        if not turn.images:
            continue
        if turn.role != "user":
            raise unsupported("Images can only be attached to user turns.")
        if not ctx.model.vision:
            raise unsupported(f"{ctx.model.id} on {ctx.name} does not accept images.")
        for url in turn.images:
            if url.startswith("data:"):
                split_data_url(url)
            elif not url.startswith("https://"):
                raise unsupported("Images must be https URLs or data: URLs.")


def check_roles(turns: tuple[Turn, ...]) -> None:
    """Refuse turns whose role is neither user nor assistant."""
    for turn in turns:
        if turn.role not in ("user", "assistant"):
            raise unsupported(f"A turn has the role {turn.role!r}; use user or assistant.")


def split_data_url(url: str) -> tuple[str, str]:
    """Return (media type, base64 data) of a base64 data: URL; refuse any other form."""
    header, comma, data = url.partition(",")
    media_type, _, encoding = header.removeprefix("data:").partition(";")
    if not comma or encoding != "base64" or not media_type.startswith("image/"):
        raise unsupported("Image data: URLs must be base64-encoded images (data:image/…;base64,…).")
    try:
        base64.b64decode(data, validate=True)
    except binascii.Error as error:
        raise unsupported("An image data: URL does not contain valid base64.") from error
    return media_type, data


def resolve_thinking(
    ctx: Context, *, has_prefix: bool, forbidden: str = ""
) -> tuple[bool | None, list[str]]:
    """Return the thinking switch to send (None: send nothing) and notes on adjustments.

    `forbidden` is the reason this provider cannot think while continuing a prefix.
    """
    wanted = ctx.request.thinking
    mode = ctx.model.thinking
    model = ctx.model.id
    if mode == "none":
        return None, [f"{model} does not think; the thinking switch was ignored."] if wanted else []
    if forbidden and has_prefix:
        if mode == "always":
            raise unsupported(
                f"{model} always thinks, and {forbidden} Choose a non-thinking model."
            )
        if wanted or (wanted is None and mode == "default_on"):
            return False, [f"Thinking was switched off: {forbidden}"]
        return wanted, []
    if mode == "always":
        notes = [f"{model} always thinks; thinking cannot be switched off."]
        return None, notes if wanted is False else []
    return wanted, []


def ignored_extras(ctx: Context, *, reasoning: bool, speaker: bool) -> list[str]:
    """Return notes for fields this dialect has no place for (and so does not send)."""
    notes = []
    if ctx.request.reasoning_prefix and not reasoning:
        notes.append(f"The reasoning prefix is a DeepSeek feature; it was not sent to {ctx.name}.")
    if ctx.request.speaker_name and not speaker:
        notes.append(f"The speaker name is a Moonshot feature; it was not sent to {ctx.name}.")
    return notes


def common_params(request: CompletionRequest, *, max_key: str = "max_tokens") -> JSON:
    """Return stop, max_tokens, temperature and top_p, leaving out what is unset."""
    params: JSON = {}
    if request.stop:
        params["stop"] = list(request.stop)
    if request.max_tokens is not None:
        params[max_key] = request.max_tokens
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    return params


def join_url(base: str, path: str, *, drop: tuple[str, ...] = ()) -> str:
    """Return `base` + `path`, first removing one trailing segment from `drop` (no doubling)."""
    root = base.rstrip("/")
    for suffix in drop:
        if root.endswith(suffix):
            root = root[: -len(suffix)]
            break
    return root + path
