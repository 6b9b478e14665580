"""Reading a prompt's tools: the checks shared by the editor, the compare page and imports.

A prompt's `tools` are written as JSON (a list of `{"name", "description", "parameters",
"strict", "result"}`, `result` being the canned answer offered when a call is answered) and
its `tool_choice` as one word: auto, none, required, or the name of one of the tools. Both are
read here, every problem with its path (`tools[1].parameters: ...`), so the form messages and
the import messages are the same. Pure Python; see docs/limits.md for the limits (MAX_TOOLS,
MAX_TOOLS_CHARS, MAX_TOOL_RESULT).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from playground.providers.schema_check import schema_problem
from playground.providers.tools import NAME_RULE, ToolChoice, ToolDef

from .budget import Budget

TOOL_FIELDS = ("name", "description", "parameters", "strict", "result")
MAX_TOOL_DESCRIPTION = 4000
# A canned result, and a result typed when answering a call (runs/tool_answers.py).
MAX_TOOL_RESULT = 20_000
CHOICE_WORDS = ("auto", "none", "required")
CHOICE_HELP = "auto, none, required, or the name of one tool to force that one."
Fail = Callable[[str, str], None]


def tools_size(value: object) -> int:
    """Return the length of `value` written as compact JSON (what MAX_TOOLS_CHARS counts)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def read_tools(value: Any, fail: Fail, budget: Budget) -> tuple[ToolDef, ...]:
    """Return the tool definitions in the parsed JSON `value`, calling `fail(path, message)`
    for each problem (paths are relative: `[1].name`)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        fail("", "must be a JSON list of tools ([] for none)")
        return ()
    if len(value) > budget.tools:
        fail("", f"at most {budget.tools} tools (MAX_TOOLS); this has {len(value):,}")
        return ()
    size = tools_size(value)
    if size > budget.tools_chars:
        fail(
            "",
            f"the tools are {size:,} characters as JSON; the limit is "
            f"{budget.tools_chars:,} (MAX_TOOLS_CHARS)",
        )
        return ()
    tools: list[ToolDef] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        tool = _tool(item, f"[{index}]", fail, seen)
        if tool is not None:
            tools.append(tool)
    return tuple(tools)


def _tool(item: Any, path: str, fail: Fail, seen: set[str]) -> ToolDef | None:
    if not isinstance(item, dict):
        fail(path, 'must be an object like {"name": ..., "description": ..., "parameters": ...}')
        return None
    ok = True
    for key in item:
        if key not in TOOL_FIELDS:
            fail(f"{path}.{key}", "unknown field (a tool has " + ", ".join(TOOL_FIELDS) + ")")
            ok = False
    name = item.get("name")
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        fail(f"{path}.name", "required: 1-64 letters, digits, underscores or hyphens")
        ok = False
    elif name in seen:
        fail(f"{path}.name", f"{name!r} is used twice; tool names must be unique")
        ok = False
    description = item.get("description", "")
    if not isinstance(description, str):
        fail(f"{path}.description", "must be a string")
        ok = False
    elif len(description) > MAX_TOOL_DESCRIPTION:
        fail(f"{path}.description", f"at most {MAX_TOOL_DESCRIPTION:,} characters")
        ok = False
    elif "\x00" in description:
        fail(f"{path}.description", "must not contain NUL characters")
        ok = False
    parameters = item.get("parameters")
    if parameters is not None:
        problem = schema_problem(parameters)
        if problem:
            fail(f"{path}.parameters", problem)
            ok = False
    strict = item.get("strict", False)
    if not isinstance(strict, bool):
        fail(f"{path}.strict", "must be true or false")
        ok = False
    result = item.get("result", "")
    problem = result_problem(result) if isinstance(result, str) else "must be a string"
    if problem:
        fail(f"{path}.result", problem)
        ok = False
    if not ok or not isinstance(name, str):
        return None
    seen.add(name)
    return ToolDef(name, str(description), parameters, bool(strict), str(result))


def result_problem(text: str) -> str:
    """Return why `text` cannot be a tool's result (canned or typed), or ""."""
    if len(text) > MAX_TOOL_RESULT:
        return f"at most {MAX_TOOL_RESULT:,} characters (MAX_TOOL_RESULT); this has {len(text):,}"
    if "\x00" in text:
        return "must not contain NUL characters"
    return ""


def choice_from_text(text: str) -> ToolChoice:
    """Return the choice written as a word: auto / none / required / a tool's name."""
    word = text.strip()
    if not word or word == "auto":
        return ToolChoice()
    if word in ("none", "required"):
        return ToolChoice("none" if word == "none" else "required")
    return ToolChoice("function", word)


def choice_to_text(choice: ToolChoice) -> str:
    """Return the choice as the word the forms show."""
    return choice.name if choice.mode == "function" else choice.mode


def choice_problem(choice: ToolChoice, tools: tuple[ToolDef, ...]) -> str:
    """Return why `choice` does not fit `tools`, or ""."""
    if choice.mode == "function" and choice.name not in {tool.name for tool in tools}:
        named = ", ".join(tool.name for tool in tools[:10]) or "no tools are defined"
        return f"{choice.name[:80]!r} is not auto, none, required or the name of a tool ({named})."
    if choice.mode == "required" and not tools:
        return "required needs at least one tool."
    return ""
