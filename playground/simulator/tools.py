"""Tool calling in the simulator: reading tools and results, choosing calls, writing arguments.

Written from the providers' documentation on its own (it shares no code with
playground.providers). The simulated model picks functions deterministically: a function is a
match when a word of its name or description appears in the last user message; `auto` calls the
best match (both best matches when the message asks for two things with "and", or always with
`-parallel` in the model id), `required` calls the best match or the first function, a named
choice calls that function, `none` calls nothing. Arguments are made from the schema (every
property, so DeepSeek's strict schemas are met) and streamed in small pieces split anywhere;
`-fault-badargs` makes the first property the wrong type. After tool results the model answers
in text that quotes them.
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass
from typing import Any, cast

from playground.simulator.corpus import JSON_VALUES
from playground.simulator.errors import Rejected
from playground.simulator.generate import Delta, Generation, count_tokens

STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "get",
        "with",
        "from",
        "that",
        "this",
        "into",
        "what",
        "your",
        "you",
        "are",
        "was",
        "has",
        "have",
        "will",
        "can",
        "its",
        "about",
        "which",
        "when",
        "where",
        "how",
        "should",
        "give",
        "tell",
    ]
)
_WORD = re.compile(r"[a-z]{3,}")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_PLACE = re.compile(r"\b(?:in|at|for|to) ([A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)?)")
PLACE_KEYS = frozenset({"location", "city", "place", "where", "destination", "town"})
STRICT_TYPES = frozenset({"object", "string", "number", "integer", "boolean", "array"})
MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")
ALNUM = string.ascii_letters + string.digits

DEEPSEEK_STRICT_BETA_ONLY = 'strict mode is only available when using beta api (set base_url="https://api.deepseek.com/beta")'
OPENAI_ORPHAN_TOOL = (
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
    "with 'tool_calls'."
)
ANTHROPIC_NEEDS_TOOLS = (
    "Requests which include `tool_use` or `tool_result` blocks must define tools."
)
ANTHROPIC_THINKING_FORCED = "Thinking may not be enabled when tool_choice forces tool use."


@dataclass(frozen=True)
class SimTool:
    """A function offered to the simulated model."""

    name: str
    description: str
    schema: dict[str, Any]
    strict: bool = False


@dataclass(frozen=True)
class Choice:
    """The request's tool_choice: auto | none | required | function (with its name)."""

    mode: str = "auto"
    name: str = ""


@dataclass(frozen=True)
class SimCall:
    """A call the simulated model makes."""

    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolDelta(Delta):
    """One streamed piece of a call: the first piece starts it (id and name), others add text."""

    index: int = 0
    call_id: str = ""
    name: str = ""
    first: bool = False


# Reading requests -----------------------------------------------------------------------------


def _schema(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {"type": "object", "properties": {}}
    if not isinstance(value, dict):
        raise Rejected(f"{where}: Input should be a valid dictionary")
    return value


def read_function_tools(body: dict[str, Any]) -> list[SimTool]:
    """Return the OpenAI-shaped (and Ollama) `tools`: [{"type": "function", "function": {…}}]."""
    raw = body.get("tools") or []
    if not isinstance(raw, list):
        raise Rejected("tools: Input should be a valid list")
    tools = []
    for number, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise Rejected(f"tools[{number}].function: a function with a name is required")
        tools.append(
            SimTool(
                function["name"],
                str(function.get("description") or ""),
                _schema(function.get("parameters"), f"tools[{number}].function.parameters"),
                function.get("strict") is True,
            )
        )
    return tools


def read_anthropic_tools(body: dict[str, Any]) -> list[SimTool]:
    """Return the Messages API `tools`: [{"name", "description", "input_schema"}]."""
    raw = body.get("tools") or []
    if not isinstance(raw, list):
        raise Rejected("tools: Input should be a valid list")
    tools = []
    for number, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise Rejected(f"tools.{number}.name: Field required")
        if "input_schema" not in item:
            raise Rejected(f"tools.{number}.custom.input_schema: Field required")
        schema = _schema(item["input_schema"], f"tools.{number}.input_schema")
        tools.append(SimTool(item["name"], str(item.get("description") or ""), schema))
    return tools


def openai_choice(body: dict[str, Any], tools: list[SimTool]) -> Choice:
    """Return the OpenAI-shaped tool_choice ("any" is Mistral's "required")."""
    raw = body.get("tool_choice")
    if raw is None:
        return Choice("auto" if tools else "none")
    if raw in ("auto", "none", "required", "any"):
        return Choice("required" if raw == "any" else str(raw))
    function = raw.get("function") if isinstance(raw, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return _named(function["name"], tools)
    raise Rejected("tool_choice: expected auto, none, required or a named function")


def anthropic_choice(body: dict[str, Any], tools: list[SimTool]) -> Choice:
    """Return the Messages API tool_choice: {"type": auto | any | tool | none, "name"?}."""
    raw = body.get("tool_choice")
    if raw is None:
        return Choice("auto")
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind in ("auto", "none"):
        return Choice(str(kind))
    if kind == "any":
        return Choice("required")
    if kind == "tool" and isinstance(raw.get("name"), str):
        return _named(raw["name"], tools)
    raise Rejected(
        "tool_choice: Input tag does not match any of the expected tags: auto, any, tool, none"
    )


def _named(name: str, tools: list[SimTool]) -> Choice:
    if all(tool.name != name for tool in tools):
        raise Rejected(f"tool_choice names the function {name!r}, which is not in tools")
    return Choice("function", name)


def check_deepseek_strict(tools: list[SimTool], endpoint: str) -> None:
    """Refuse `strict` outside /beta, and strict schemas DeepSeek's strict mode does not take."""
    strict = [tool for tool in tools if tool.strict]
    if not strict:
        return
    if endpoint != "beta_chat":
        raise Rejected(DEEPSEEK_STRICT_BETA_ONLY)
    for tool in strict:
        problem = _strict_problem(tool.schema, 0)
        if problem:
            raise Rejected(f"Invalid schema for function '{tool.name}': {problem}")


def _strict_problem(schema: dict[str, Any], depth: int) -> str | None:
    if depth > 20 or "$ref" in schema or "anyOf" in schema or "enum" in schema:
        return None
    kind = schema.get("type")
    if kind not in STRICT_TYPES:
        return f"type {kind!r} is not supported in strict mode"
    banned = {"string": ("minLength", "maxLength"), "array": ("minItems", "maxItems")}
    for keyword in banned.get(str(kind), ()):
        if keyword in schema:
            return f"'{keyword}' is not supported in strict mode"
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return "an object needs properties in strict mode"
        if schema.get("additionalProperties") is not False:
            return "'additionalProperties' must be false in strict mode"
        required = schema.get("required") or []
        missing = [name for name in properties if name not in required]
        if missing:
            return f"all properties must be required in strict mode; missing {missing[0]!r}"
        for sub in properties.values():
            found = _strict_problem(sub, depth + 1) if isinstance(sub, dict) else None
            if found:
                return found
    items = schema.get("items")
    if kind == "array" and isinstance(items, dict):
        return _strict_problem(items, depth + 1)
    return None


def check_mistral_ids(messages: list[dict[str, Any]]) -> None:
    """Refuse tool call ids that are not nine letters or digits, as Mistral does."""
    ids = [
        str(call.get("id"))
        for message in messages
        for call in (message.get("tool_calls") or [])
        if isinstance(call, dict)
    ]
    ids += [str(m.get("tool_call_id")) for m in messages if m.get("role") == "tool"]
    for call_id in ids:
        if not MISTRAL_ID.fullmatch(call_id):
            raise Rejected(
                f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9."
            )


def openai_results(messages: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Return (function name, result) for the tool messages ending the conversation.

    Every tool message must answer a call of the assistant message before it, and every such
    call must be answered, as OpenAI-shaped APIs require.
    """
    pending: dict[str, str] = {}
    answered: list[tuple[str, str]] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in pending:
                raise Rejected(OPENAI_ORPHAN_TOOL)
            answered.append((pending.pop(call_id), _text(message.get("content"))))
            continue
        if pending:
            raise Rejected(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(pending)}"
            )
        answered = []
        for call in message.get("tool_calls") or [] if role == "assistant" else []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(call, dict) and isinstance(function, dict):
                pending[str(call.get("id"))] = str(function.get("name", ""))
    if pending:
        raise Rejected(
            "An assistant message with 'tool_calls' must be followed by tool messages "
            f"responding to each 'tool_call_id'. Missing: {', '.join(pending)}"
        )
    return tuple(answered) if messages and messages[-1].get("role") == "tool" else ()


def anthropic_results(
    messages: list[dict[str, Any]], has_tools: bool
) -> tuple[tuple[str, str], ...]:
    """Return (tool name, result) of the tool_result blocks in the last user message.

    A tool_use must be answered in the very next message, and a tool_result must answer a
    tool_use of the message before it (the Messages API's rules).
    """
    previous: dict[str, str] = {}
    answered: list[tuple[str, str]] = []
    for number, message in enumerate(messages):
        content = message.get("content")
        blocks: list[Any] = content if isinstance(content, list) else []
        uses = {
            str(b.get("id")): str(b.get("name"))
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "tool_use"
        }
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        if (uses or results) and not has_tools:
            raise Rejected(ANTHROPIC_NEEDS_TOOLS)
        answered = []
        for block in results:
            use_id = str(block.get("tool_use_id"))
            if use_id not in previous:
                raise Rejected(
                    f"messages.{number}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{use_id}. Each `tool_result` block must have a corresponding `tool_use` "
                    "block in the previous message."
                )
            answered.append((previous.pop(use_id), _text(block.get("content"))))
        if previous:
            raise Rejected(
                f"messages.{number}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(previous)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        previous = uses
    if previous:
        raise Rejected(
            "messages: the conversation ends with `tool_use` blocks that have no `tool_result`."
        )
    return tuple(answered)


def ollama_results(messages: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Return (tool name, result) of the tool messages ending the conversation."""
    answered: list[tuple[str, str]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        answered.append((str(message.get("tool_name") or "tool"), _text(message.get("content"))))
    return tuple(reversed(answered))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return json.dumps(content, ensure_ascii=False) if content is not None else ""


# Choosing and writing calls -------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def choose(
    tools: list[SimTool], choice: Choice, topic: str, *, after_results: bool, parallel: bool
) -> list[SimTool]:
    """Return the functions the simulated model calls (none: it answers in text)."""
    if not tools or choice.mode == "none":
        return []
    if choice.mode == "function":
        return [tool for tool in tools if tool.name == choice.name][:1]
    if choice.mode == "auto" and after_results:
        return []
    asked = _words(topic)
    scored = [
        (len(asked & _words(f"{tool.name.replace('_', ' ')} {tool.description}")), n)
        for n, tool in enumerate(tools)
    ]
    matches = [n for score, n in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]
    if not matches:
        return [tools[0]] if choice.mode == "required" else []
    two = parallel or (len(matches) >= 2 and " and " in f" {topic.lower()} ")
    picked = sorted(matches[:2]) if two else matches[:1]
    if parallel and len(picked) < 2 and len(tools) >= 2:
        picked = sorted({picked[0], 0 if picked[0] else 1})
    return [tools[n] for n in picked]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        for prefix in ("#/$defs/", "#/definitions/"):
            defs = root.get(prefix[2:-1])
            if ref.startswith(prefix) and isinstance(defs, dict):
                found = defs.get(ref[len(prefix) :])
                return found if isinstance(found, dict) else {}
    return schema


def value_for(
    schema: dict[str, Any], key: str, topic: str, root: dict[str, Any], depth: int = 0
) -> Any:
    """Return a value that fits `schema`, taken from the prompt where it can be."""
    schema = _resolve(schema, root)
    if depth > 12:
        return None
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        lowered = topic.lower()
        mentioned = [v for v in schema["enum"] if isinstance(v, str) and v.lower() in lowered]
        return mentioned[0] if mentioned else schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("anyOf"), list) and schema["anyOf"]:
        return value_for(schema["anyOf"][0], key, topic, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {
            name: value_for(sub if isinstance(sub, dict) else {}, name, topic, root, depth + 1)
            for name, sub in properties.items()
        }
    if kind == "array":
        items = schema.get("items")
        return [value_for(items if isinstance(items, dict) else {}, key, topic, root, depth + 1)]
    if kind in ("integer", "number"):
        return _number(schema, topic, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, key, topic)


def _number(schema: dict[str, Any], topic: str, *, integer: bool) -> int | float:
    found = _NUMBER.search(topic)
    value: float = float(found[0]) if found else (3 if integer else 21.5)
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float):
        value = max(value, low)
    if isinstance(high, int | float):
        value = min(value, high)
    return int(value) if integer else value


def _string(schema: dict[str, Any], key: str, topic: str) -> str:
    formats = {
        "email": "someone@example.com",
        "uuid": "123e4567-e89b-12d3-a456-426614174000",
        "date": "2026-07-01",
        "date-time": "2026-07-01T12:00:00Z",
        "ipv4": "192.0.2.1",
        "hostname": "example.com",
    }
    if schema.get("format") in formats:
        return formats[str(schema["format"])]
    lowered = key.lower()
    place = _PLACE.search(topic)
    if any(word in lowered for word in PLACE_KEYS) and place:
        return place[1]
    known = JSON_VALUES.get(lowered)
    return known if isinstance(known, str) else f"example {key}".strip()


def arguments_for(tool: SimTool, topic: str, *, bad: bool) -> str:
    """Return the arguments' JSON text; `bad` makes the first property the wrong type."""
    value = value_for(tool.schema, "", topic, tool.schema)
    if bad:
        value = _broken(value, tool.schema)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _broken(value: Any, schema: dict[str, Any]) -> Any:
    if not isinstance(value, dict) or not value:
        return ["not", "an", "object"]
    name = next(iter(value))
    properties = schema.get("properties") or {}
    sub = properties.get(name) if isinstance(properties, dict) else None
    kind = sub.get("type") if isinstance(sub, dict) else None
    return {**value, name: 12345 if kind == "string" else "not a number"}


def call_id(provider: str, rng: random.Random, index: int) -> str:
    """Return a call id in the provider's own style."""

    def pick(count: int, alphabet: str = ALNUM) -> str:
        return "".join(rng.choice(alphabet) for _ in range(count))

    if provider == "mistral":
        return pick(9)
    if provider == "anthropic":
        return "toolu_01" + pick(22)
    if provider == "deepseek":
        return f"call_{index}_" + pick(32, "0123456789abcdef")
    if provider == "ollama":
        return ""
    return "call_" + pick(24)


def make_calls(
    provider: str, chosen: list[SimTool], topic: str, seed: int, *, bad: bool
) -> list[SimCall]:
    """Return the calls for the chosen functions, with deterministic ids."""
    rng = random.Random(seed)
    return [
        SimCall(
            index, call_id(provider, rng, index), tool.name, arguments_for(tool, topic, bad=bad)
        )
        for index, tool in enumerate(chosen)
    ]


def call_deltas(calls: list[SimCall], seed: int, *, whole: bool = False) -> list[Delta]:
    """Return the streamed pieces: a start per call, then its arguments in 2-6 character pieces
    (so a word or number is usually split); `whole` sends each call in one piece (Ollama)."""
    rng = random.Random(seed)
    deltas: list[Delta] = []
    for call in calls:
        if whole:
            deltas.append(
                ToolDelta("tool", call.arguments, 1, call.index, call.id, call.name, True)
            )
            continue
        deltas.append(ToolDelta("tool", "", 1, call.index, call.id, call.name, True))
        text, at = call.arguments, 0
        while at < len(text):
            size = rng.randint(2, 6)
            piece = text[at : at + size]
            deltas.append(ToolDelta("tool", piece, max(1, len(piece) // 3), call.index))
            at += size
    return deltas


def generation(calls: list[SimCall], input_text: str) -> Generation:
    """Return the Generation of a tool-calling answer (no text; finish "tool_calls")."""
    tokens = sum(count_tokens(call.arguments) + 2 for call in calls)
    return Generation("", "", "tool_calls", None, count_tokens(input_text), tokens)


def arguments_object(call: SimCall) -> Any:
    """Return the arguments as JSON (Ollama and Anthropic send objects)."""
    return cast(Any, json.loads(call.arguments))
