"""Probe: does this credential and model really continue a prefix, or start afresh?

The probe asks for a count from 1 to 20 and supplies "1, 2, 3, 4, 5, 6, 7," as the prefix.
A model that continues says "8" next; one that treats the prefix as a finished turn counts
again from 1 or opens a new answer ("Sure! Here…"). The verdict comes with its evidence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

import httpx

from playground.providers.base import CompletionRequest, Deadlines, Target, Turn
from playground.providers.catalog import model_info
from playground.providers.client import complete
from playground.providers.errors import ProviderError
from playground.providers.registry import plan

PROBE_QUESTION = "Count from 1 to 20 in digits, separated by commas. Reply with the numbers only."
PROBE_PREFIX = "1, 2, 3, 4, 5, 6, 7,"
# The one probe deadline (the Keys page passes it on, and ProbeSlot expiry in keys/models.py
# counts on it): a probe asks for a few dozen tokens, so a minute is generous even for a slow
# first token.
PROBE_DEADLINES = Deadlines(first_token=45.0, stall=30.0, total=60.0)

Verdict = Literal["continues", "restarts", "error", "unsupported"]


@dataclass(frozen=True)
class ProbeResult:
    verdict: Verdict
    evidence: str
    prefix: str
    text: str


def probe_request(target: Target, model: str) -> CompletionRequest:
    """Return the probe's request: the counting question, the counting prefix, no thinking."""
    try:
        always_thinks = model_info(target.provider, model).thinking == "always"
    except KeyError:
        always_thinks = False
    return CompletionRequest(
        model=model,
        prefix=PROBE_PREFIX,
        turns=(Turn("user", PROBE_QUESTION),),
        # A model that always thinks spends tokens on reasoning before the first digit.
        max_tokens=2048 if always_thinks else 48,
        thinking=False,
    )


def judge(text: str) -> tuple[Verdict, str]:
    """Return the verdict on a reply to the probe prefix, with the evidence for it."""
    shown = json.dumps(text[:60], ensure_ascii=False) + ("…" if len(text) > 60 else "")
    stripped = text.lstrip()
    if not stripped:
        return "error", "The model returned no text after the prefix."
    if re.match(r"8\b", stripped):
        return "continues", f"The reply carries on from “7,” with {shown}."
    if re.match(r"1\b", stripped) or "1, 2, 3" in text[:200]:
        return "restarts", f"The reply counts again from 1 instead of continuing: {shown}."
    if stripped[0].isupper():
        return "restarts", f"The reply opens a new answer instead of continuing “7,”: {shown}."
    return "continues", f"The reply picks up mid-text rather than starting over: {shown}."


async def probe(
    client: httpx.AsyncClient,
    target: Target,
    model: str,
    *,
    allow_private: bool = False,
    deadlines: Deadlines = PROBE_DEADLINES,
) -> ProbeResult:
    """Return whether `model` on `target` continues a known prefix, with the evidence."""
    request = probe_request(target, model)
    try:
        plan(target, request)
    except ProviderError as error:
        return ProbeResult("unsupported", error.message, PROBE_PREFIX, "")
    result = await complete(
        client, target, request, deadlines=deadlines, allow_private=allow_private
    )
    if result.error is not None:
        return ProbeResult("error", result.error.message, PROBE_PREFIX, result.text)
    verdict, evidence = judge(result.text)
    return ProbeResult(verdict, evidence, PROBE_PREFIX, result.text)
