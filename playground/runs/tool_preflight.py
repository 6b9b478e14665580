"""Refusing, on the compare form, what a prompt's tools cannot do on a target.

The provider layer refuses before sending anything a target cannot do with tools (a model
without function calling, a tool choice the provider does not take, a prefix with a forced
choice or where the catalog's `tools_with_prefix` is false, a strict schema DeepSeek's strict
mode would refuse: providers/tool_request.py). Here the same plan is made for each target when
a run is started (and when a batch is, batches/forms.py), with a stand-in key, so those
refusals come back in the form (422, nothing typed lost) instead of as columns that were never
sent. Only refusals caused by the tools are raised here: when the request without its tools is
refused too, the column says why, as before. See docs/providers-tools.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from playground.providers import ProviderError, Target
from playground.providers.prompt import Prompt
from playground.providers.registry import plan

from .streaming import target_request

# Any non-empty stand-in: the plan is made, never sent.
KEY_STAND_IN = "key-not-needed-to-plan"


def tool_refusals(prompt: Prompt, targets: list[dict[str, Any]]) -> list[str]:
    """Return, per target, why its provider would refuse this prompt's tools before sending."""
    if not prompt.tools:
        return []
    problems = []
    for number, spec in enumerate(targets, start=1):
        credential = spec["credential"]
        target = Target(
            provider=credential.provider,
            base_url=credential.effective_base_url,
            api_key=KEY_STAND_IN,
            dialect=credential.effective_dialect,
        )
        request = target_request(prompt, spec["model"], spec.get("overrides") or {})
        try:
            plan(target, request)
        except ProviderError as refused:
            without_tools = replace(request, tools=(), tool_choice=None, tool_rounds=())
            try:
                plan(target, without_tools)
            except ProviderError:
                continue  # refused whatever the tools: the column shows it, as before
            problems.append(f"Target {number} ({spec['model']}): {refused.message}")
    return problems
