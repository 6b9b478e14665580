"""The request as code a user can run: a curl command and a Python script.

Both are built from the same plan as the real call, so they carry the dialect's URL and flags.
The key never appears: curl reads it from an environment variable ($DEEPSEEK_API_KEY, ...),
Python from `os.environ[...]`. Python uses the openai SDK for OpenAI-shaped dialects (fields
the SDK does not know, such as continue_final_message or enable_thinking, go in `extra_body`),
the anthropic SDK for Anthropic, and plain httpx for Ollama's native API.
"""

from __future__ import annotations

import json
import re
import shlex

from playground.providers.base import CompletionRequest, Target
from playground.providers.catalog import get_provider
from playground.providers.registry import plan
from playground.providers.request import Plan

CHAT_PARAMS = frozenset(
    {
        "model",
        "messages",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stream",
        "stream_options",
        "response_format",
        "tools",
        "tool_choice",
    }
)
FIM_PARAMS = frozenset(
    {
        "model",
        "prompt",
        "suffix",
        "max_tokens",
        "stop",
        "temperature",
        "top_p",
        "echo",
        "stream",
        "stream_options",
    }
)
ANTHROPIC_PARAMS = frozenset(
    {
        "model",
        "max_tokens",
        "system",
        "messages",
        "stop_sequences",
        "temperature",
        "top_p",
        "thinking",
        "tools",
        "tool_choice",
    }
)


# What the scripts print for each tool call: `tool call: name({"arguments": ...})`, the
# arguments as the model wrote them (OpenAI-style), or as JSON (Anthropic and Ollama, whose
# SDK and API hand them over as objects).
ANTHROPIC_CALLS = (
    "for block in message.content:\n"
    '    if block.type == "tool_use":\n'
    '        print(f"tool call: {block.name}({json.dumps(block.input, ensure_ascii=False)})")\n'
)
OLLAMA_CALLS = (
    "for call in calls:\n"
    '    function = call["function"]\n'
    "    arguments = json.dumps(function.get('arguments', {}), ensure_ascii=False)\n"
    "    print(f\"tool call: {function['name']}({arguments})\")\n"
)


def _openai_tool_output(*, stream: bool) -> str:
    """Return the lines that print the reply's text and then each tool call it made."""
    if not stream:
        return (
            "message = response.choices[0].message\n"
            'print(message.content or "")\n'
            "for call in message.tool_calls or []:\n"
            '    print(f"tool call: {call.function.name}({call.function.arguments})")\n'
        )
    # Streamed calls come in pieces: the first of each (by index) has its name, every piece
    # may add argument text.
    return (
        "calls = {}\n"
        "for chunk in response:\n"
        "    if not chunk.choices:\n"
        "        continue\n"
        "    delta = chunk.choices[0].delta\n"
        '    print(delta.content or "", end="", flush=True)\n'
        "    for piece in delta.tool_calls or []:\n"
        '        call = calls.setdefault(piece.index, {"name": "", "arguments": ""})\n'
        "        if piece.function and piece.function.name:\n"
        '            call["name"] += piece.function.name\n'
        "        if piece.function and piece.function.arguments:\n"
        '            call["arguments"] += piece.function.arguments\n'
        "print()\n"
        "for call in calls.values():\n"
        "    print(f\"tool call: {call['name']}({call['arguments']})\")\n"
    )


def _key_env(target: Target) -> str:
    env = get_provider(target.provider).key_env
    # The name lands in shell and Python source: accept only a plain variable name.
    return env if re.fullmatch(r"[A-Z_][A-Z0-9_]*", env) else "API_KEY"


def to_curl(target: Target, request: CompletionRequest) -> str:
    """Return a POSIX shell curl command for the request, the key as an environment variable."""
    the_plan = plan(target, request)
    call = the_plan.call
    env = _key_env(target)
    parts = ["curl", "-sS"]
    if call.body.get("stream"):
        parts.append("-N")  # print the stream as it arrives
    parts.append(shlex.quote(call.url))
    for name, value in call.headers.items():
        if name in call.secret_headers:
            scheme = "Bearer " if value.startswith("Bearer ") else ""
            parts += ["-H", f'"{name}: {scheme}${env}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    parts += ["-d", shlex.quote(json.dumps(call.body, ensure_ascii=False, indent=2))]
    return " ".join(parts)


def to_python(target: Target, request: CompletionRequest) -> str:
    """Return a Python script that sends the request; the key is read from the environment."""
    the_plan = plan(target, request)
    env = _key_env(target)
    if the_plan.format == "anthropic":
        return _anthropic(the_plan, env)
    if the_plan.format == "ollama":
        return _ollama(the_plan)
    return _openai(the_plan, env)


def _literal(value: object, depth: int = 0) -> str:
    pad, end = "    " * (depth + 1), "    " * depth
    if isinstance(value, dict) and value:
        items = [f"{pad}{_literal(k)}: {_literal(v, depth + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{end}}}"
    if isinstance(value, list) and value:
        items = [f"{pad}{_literal(v, depth + 1)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{end}]"
    return repr(value)


def _arguments(kwargs: dict[str, object], depth: int) -> str:
    pad = "    " * depth
    return "\n".join(f"{pad}{name}={_literal(value, depth)}," for name, value in kwargs.items())


def _reply_comment(the_plan: Plan) -> str:
    if the_plan.dialect == "mistral":
        return "# The reply starts by repeating the prefix; the rest is the continuation.\n"
    return "# The reply is the continuation: prefix + reply is the full text.\n"


def _openai(the_plan: Plan, env: str) -> str:
    body = dict(the_plan.call.body)
    fim = "prompt" in body
    endpoint = "/completions" if fim else "/chat/completions"
    known = FIM_PARAMS if fim else CHAT_PARAMS
    kwargs = {name: value for name, value in body.items() if name in known}
    extra = {name: value for name, value in body.items() if name not in known}
    if extra:
        kwargs["extra_body"] = extra
    base_url = the_plan.call.url.removesuffix(endpoint)
    method = "client.completions.create" if fim else "client.chat.completions.create"
    piece = "choices[0].text" if fim else "choices[0].delta.content"
    whole = "choices[0].text" if fim else "choices[0].message.content"
    if body.get("tools"):
        output = _openai_tool_output(stream=bool(body.get("stream")))
    elif body.get("stream"):
        output = (
            "for chunk in response:\n"
            "    if chunk.choices:\n"
            f'        print(chunk.{piece} or "", end="", flush=True)\n'
            "print()\n"
        )
    else:
        output = f"print(response.{whole})\n"
    return (
        "import os\n\nfrom openai import OpenAI\n\n"
        f"client = OpenAI(\n    api_key=os.environ[{env!r}],\n    base_url={base_url!r},\n)\n"
        f"response = {method}(\n{_arguments(kwargs, 1)}\n)\n" + _reply_comment(the_plan) + output
    )


def _anthropic(the_plan: Plan, env: str) -> str:
    body = dict(the_plan.call.body)
    stream = bool(body.pop("stream", False))
    kwargs = {name: value for name, value in body.items() if name in ANTHROPIC_PARAMS}
    extra = {name: value for name, value in body.items() if name not in ANTHROPIC_PARAMS}
    if extra:
        kwargs["extra_body"] = extra
    base_url = the_plan.call.url.removesuffix("/v1/messages")
    head = (
        ("import json\n" if body.get("tools") else "") + "import os\n\nimport anthropic\n\n"
        f"client = anthropic.Anthropic(\n    api_key=os.environ[{env!r}],\n"
        f"    base_url={base_url!r},\n)\n" + _reply_comment(the_plan)
    )
    tools = bool(body.get("tools"))
    if stream:
        return head + (
            f"with client.messages.stream(\n{_arguments(kwargs, 1)}\n) as stream:\n"
            "    for text in stream.text_stream:\n"
            '        print(text, end="", flush=True)\n'
            + ("    message = stream.get_final_message()\n" if tools else "")
            + "print()\n"
            + (ANTHROPIC_CALLS if tools else "")
        )
    return head + (
        f"message = client.messages.create(\n{_arguments(kwargs, 1)}\n)\n"
        'print("".join(block.text for block in message.content if block.type == "text"))\n'
        + (ANTHROPIC_CALLS if tools else "")
    )


def _ollama(the_plan: Plan) -> str:
    call = the_plan.call
    head = f"import json\n\nimport httpx\n\nbody = {_literal(call.body)}\n" + _reply_comment(
        the_plan
    )
    tools = bool(call.body.get("tools"))
    if call.body.get("stream"):
        return head + (
            ("calls = []\n" if tools else "")
            + f"with httpx.stream('POST', {call.url!r}, json=body, timeout=None) as response:\n"
            "    for line in response.iter_lines():\n"
            "        if line:\n"
            '            message = json.loads(line).get("message", {})\n'
            '            print(message.get("content", ""), end="", flush=True)\n'
            + ('            calls += message.get("tool_calls") or []\n' if tools else "")
            + "print()\n"
            + (OLLAMA_CALLS if tools else "")
        )
    if tools:
        return head + (
            f"response = httpx.post({call.url!r}, json=body, timeout=None)\n"
            'message = json.loads(response.text)["message"]\n'
            'print(message.get("content", ""))\n'
            'calls = message.get("tool_calls") or []\n' + OLLAMA_CALLS
        )
    return head + (
        f"response = httpx.post({call.url!r}, json=body, timeout=None)\n"
        'print(json.loads(response.text)["message"]["content"])\n'
    )
