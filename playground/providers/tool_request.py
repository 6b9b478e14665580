"""Tools in each dialect's request: the checks that refuse before sending, and the shapes.

    OpenAI-style  "tools": [{"type": "function", "function": {name, description, parameters,
                  strict?}}], "tool_choice": "auto" | "none" | "required" (Mistral: "any") |
                  {"type": "function", "function": {"name"}}; a round is an assistant message
                  with "tool_calls" (arguments as a JSON string) and one {"role": "tool",
                  "tool_call_id", "content"} message per result (Mistral also wants "name" and
                  ids of nine letters or digits).
    Anthropic     "tools": [{name, description, input_schema}], "tool_choice": {"type": "auto" |
                  "none" | "any" | "tool", "name"?}; a round is an assistant message of
                  "tool_use" blocks (input as an object) and a user message of "tool_result"
                  blocks.
    Ollama        "tools" as OpenAI; no tool_choice; a round is an assistant message with
                  "tool_calls" (arguments as an object) and {"role": "tool", "tool_name"}.

Capabilities come from the catalog: a model's `tools`, a provider's `tool_choices`,
`tool_strict` and `tools_with_prefix`. See docs/providers-tools.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from typing import cast

from playground.providers.errors import unsupported
from playground.providers.request import JSON, Context
from playground.providers.schema_check import schema_problem, strict_problem
from playground.providers.tools import MAX_TOOLS, NAME_RULE, ToolCall, ToolChoice, ToolRound

MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")
BASE62 = string.digits + string.ascii_letters


def uses_tools(ctx: Context) -> bool:
    """Return whether the request offers tools or answers tool calls."""
    return bool(ctx.request.tools or ctx.request.tool_rounds)


def choice_of(ctx: Context) -> ToolChoice:
    """Return the tool choice in effect (auto when none was set)."""
    return ctx.request.tool_choice or ToolChoice()


def check_tools(ctx: Context, *, has_prefix: bool) -> list[str]:
    """Refuse what this provider or model cannot do with tools; return notes on adjustments."""
    req = ctx.request
    if not uses_tools(ctx):
        return []
    if not ctx.model.tools:
        raise unsupported(
            ctx.model.refuses_tools_reason
            or f"{ctx.model.id} on {ctx.name} cannot call tools (functions)."
        )
    if req.suffix is not None:
        raise unsupported("Fill-in-the-middle requests cannot carry tools.")
    _check_definitions(ctx)
    _check_rounds(req.tool_rounds, bool(req.tools))
    choice = choice_of(ctx)
    if not req.tools:
        return []
    if choice.mode == "function" and all(tool.name != choice.name for tool in req.tools):
        raise unsupported(f"tool_choice names {choice.name!r}, which is not one of the tools.")
    notes: list[str] = []
    if choice.mode not in ctx.provider.tool_choices:
        notes += _unsupported_choice(ctx, choice)
    if has_prefix and choice.forces_call:
        raise unsupported(
            "A prefix commits the reply to text, so it cannot be combined with a tool_choice "
            "that forces a call (required or a named function). Use auto, or clear the prefix."
        )
    if has_prefix and not ctx.provider.tools_with_prefix and choice.mode != "none":
        raise unsupported(
            ctx.provider.tools_with_prefix_reason
            or f"{ctx.name} cannot continue a prefix while tools are offered."
        )
    return notes


def _unsupported_choice(ctx: Context, choice: ToolChoice) -> list[str]:
    modes = ", ".join(ctx.provider.tool_choices)
    tools = ctx.request.tools
    if choice.mode == "required" and "function" in ctx.provider.tool_choices and len(tools) == 1:
        return [
            f'{ctx.name} has no tool_choice "required"; with one tool, it was sent as that '
            f"function ({tools[0].name})."
        ]
    raise unsupported(f"{ctx.name} does not take tool_choice {choice.mode!r} (it takes: {modes}).")


def effective_choice(ctx: Context) -> ToolChoice:
    """Return the choice to send, after the one-tool substitution `check_tools` notes."""
    choice = choice_of(ctx)
    if choice.mode not in ctx.provider.tool_choices and choice.mode == "required":
        return ToolChoice("function", ctx.request.tools[0].name)
    return choice


def _check_definitions(ctx: Context) -> None:
    tools = ctx.request.tools
    if len(tools) > MAX_TOOLS:
        raise unsupported(
            f"At most {MAX_TOOLS} tools can be offered; this request has {len(tools)}."
        )
    seen: set[str] = set()
    for tool in tools:
        if not NAME_RULE.fullmatch(tool.name):
            raise unsupported(
                f"The tool name {tool.name[:80]!r} is not allowed: use 1-64 letters, digits, "
                "underscores or hyphens."
            )
        if tool.name in seen:
            raise unsupported(f"Two tools are named {tool.name!r}; names must be unique.")
        seen.add(tool.name)
        problem = schema_problem(tool.parameters or {"type": "object"})
        if problem:
            raise unsupported(f"The tool {tool.name!r} has unusable parameters: {problem}.")


def _check_rounds(rounds: tuple[ToolRound, ...], has_tools: bool) -> None:
    if rounds and not has_tools:
        raise unsupported(
            "Tool results are being sent back, but no tools are defined: providers need the "
            "tool definitions to read the calls."
        )
    for tool_round in rounds:
        if not tool_round.calls:
            raise unsupported("A tool round has results but no calls.")
        ids = [call.id for call in tool_round.calls]
        if len(set(ids)) != len(ids) or not all(ids):
            raise unsupported("Every tool call needs its own, non-empty id.")
        answered = [result.call_id for result in tool_round.results]
        unknown = [call_id for call_id in answered if call_id not in ids]
        if unknown:
            raise unsupported(f"A tool result answers {unknown[0]!r}, which is not a call here.")
        missing = [call.name or call.id for call in tool_round.calls if call.id not in answered]
        if missing:
            raise unsupported(
                "Every tool call needs a result before the conversation can go on; "
                f"unanswered: {', '.join(missing)}."
            )


def strict_wanted(ctx: Context, url: str, notes: list[str]) -> bool:
    """Return whether to send `"strict": true`; check each strict schema where it is sent."""
    strict_tools = [tool for tool in ctx.request.tools if tool.strict]
    if not strict_tools:
        return False
    mode = ctx.provider.tool_strict
    beta = "/beta/" in url
    if mode == "none" or (mode == "beta" and not beta):
        where = "outside its /beta base URL" if mode == "beta" else "here"
        notes.append(
            f'{ctx.name} has no strict function mode {where}; "strict" was not sent, and the '
            "arguments are checked against the schema when the column ends."
        )
        return False
    for tool in strict_tools:
        problem = strict_problem(tool.schema())
        if problem:
            raise unsupported(
                f"The tool {tool.name!r} cannot use strict mode on {ctx.name}: {problem}."
            )
    return True


def arguments_object(call: ToolCall, provider: str) -> JSON:
    """Return a call's arguments as an object, refusing text that is not a JSON object."""
    try:
        value = call.parsed()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise unsupported(
            f"The arguments of the call to {call.name!r} are not a JSON object, and {provider} "
            "takes a call's arguments only as an object."
        )
    return cast(JSON, value)


# OpenAI-shaped dialects ---------------------------------------------------------------------


def openai_fields(ctx: Context, url: str, notes: list[str]) -> JSON:
    """Return "tools" and "tool_choice" for an OpenAI-shaped request."""
    if not ctx.request.tools:
        return {}
    strict = strict_wanted(ctx, url, notes)
    tools: list[JSON] = []
    for tool in ctx.request.tools:
        function: JSON = {"name": tool.name}
        if tool.description:
            function["description"] = tool.description
        if tool.parameters is not None:
            function["parameters"] = tool.parameters
        if strict and tool.strict:
            function["strict"] = True
        tools.append({"type": "function", "function": function})
    fields: JSON = {"tools": tools}
    if ctx.request.tool_choice is not None:
        fields["tool_choice"] = _openai_choice(effective_choice(ctx), ctx.dialect)
    return fields


def _openai_choice(choice: ToolChoice, dialect: str) -> object:
    if choice.mode == "function":
        return {"type": "function", "function": {"name": choice.name}}
    if choice.mode == "required" and dialect == "mistral":
        return "any"  # Mistral's word for "must call a tool"
    return choice.mode


def openai_messages(ctx: Context, notes: list[str]) -> list[JSON]:
    """Return the messages of every tool round, in the dialect's shape."""
    mistral = ctx.dialect == "mistral"
    renamed = False
    messages: list[JSON] = []
    for tool_round in ctx.request.tool_rounds:
        calls: list[JSON] = []
        for call in tool_round.calls:
            call_id = mistral_id(call.id) if mistral else call.id
            renamed = renamed or call_id != call.id
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            )
        assistant: JSON = {"role": "assistant", "content": tool_round.text, "tool_calls": calls}
        if ctx.dialect == "deepseek" and tool_round.reasoning:
            # DeepSeek's thinking mode wants the reasoning of a tool-calling turn sent back.
            assistant["reasoning_content"] = tool_round.reasoning
        messages.append(assistant)
        for result in tool_round.results:
            message: JSON = {
                "role": "tool",
                "tool_call_id": mistral_id(result.call_id) if mistral else result.call_id,
                "content": result.content,
            }
            if mistral:
                answered = tool_round.call_named(result.call_id)
                message["name"] = answered.name if answered else ""
            messages.append(message)
    if renamed:
        notes.append(
            "Mistral takes tool call ids of exactly nine letters or digits; the other ids were "
            "rewritten (the same way for each call and its result)."
        )
    return messages


def mistral_id(call_id: str) -> str:
    """Return `call_id` if Mistral takes it, else a stable nine-character stand-in."""
    if MISTRAL_ID.fullmatch(call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "".join(chars)


# Anthropic ------------------------------------------------------------------------------------


def anthropic_fields(ctx: Context, notes: list[str]) -> JSON:
    """Return "tools" and "tool_choice" for a Messages API request."""
    if not ctx.request.tools:
        return {}
    strict_wanted(ctx, "", notes)
    tools: list[JSON] = []
    for tool in ctx.request.tools:
        entry: JSON = {"name": tool.name}
        if tool.description:
            entry["description"] = tool.description
        entry["input_schema"] = tool.schema()
        tools.append(entry)
    fields: JSON = {"tools": tools}
    choice = ctx.request.tool_choice
    if choice is not None:
        kinds = {"auto": "auto", "none": "none", "required": "any", "function": "tool"}
        sent: JSON = {"type": kinds[choice.mode]}
        if choice.mode == "function":
            sent["name"] = choice.name
        fields["tool_choice"] = sent
    return fields


def anthropic_rounds(ctx: Context) -> list[tuple[str, object]]:
    """Return (role, content) pairs for every tool round: tool_use, then tool_result blocks."""
    pairs: list[tuple[str, object]] = []
    for tool_round in ctx.request.tool_rounds:
        blocks: list[JSON] = []
        if tool_round.text:
            blocks.append({"type": "text", "text": tool_round.text})
        for call in tool_round.calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.name,
                    "input": arguments_object(call, ctx.name),
                }
            )
        pairs.append(("assistant", blocks))
        results: list[JSON] = []
        for result in tool_round.results:
            block: JSON = {
                "type": "tool_result",
                "tool_use_id": result.call_id,
                "content": result.content,
            }
            if result.is_error:
                block["is_error"] = True
            results.append(block)
        pairs.append(("user", results))
    return pairs


# Ollama ---------------------------------------------------------------------------------------


def ollama_fields(ctx: Context, notes: list[str]) -> JSON:
    """Return "tools" for an /api/chat request (Ollama has no tool_choice)."""
    if not ctx.request.tools:
        return {}
    strict_wanted(ctx, "", notes)
    if choice_of(ctx).mode == "none":
        notes.append(
            "Ollama has no tool_choice: the tools were not sent, so the model cannot call one."
        )
        return {}
    tools: list[JSON] = []
    for tool in ctx.request.tools:
        function: JSON = {"name": tool.name}
        if tool.description:
            function["description"] = tool.description
        if tool.parameters is not None:
            function["parameters"] = tool.parameters
        tools.append({"type": "function", "function": function})
    return {"tools": tools}


def ollama_messages(ctx: Context) -> list[JSON]:
    """Return the messages of every tool round in Ollama's shape (arguments as objects)."""
    messages: list[JSON] = []
    for tool_round in ctx.request.tool_rounds:
        calls = [
            {"function": {"name": call.name, "arguments": arguments_object(call, ctx.name)}}
            for call in tool_round.calls
        ]
        messages.append({"role": "assistant", "content": tool_round.text, "tool_calls": calls})
        for result in tool_round.results:
            call = tool_round.call_named(result.call_id)
            messages.append(
                {"role": "tool", "content": result.content, "tool_name": call.name if call else ""}
            )
    return messages


def dumps(value: object) -> str:
    """Return compact JSON text, as an argument string."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
