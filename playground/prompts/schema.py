"""The JSON exchange format for templates, version 2 (documented in docs/template-schema.md).

Version 2 added `tools` and `tool_choice`; a version 1 file (which has neither) still imports.

Pure Python: it reads a parsed document and returns either the canonical template contents or
every problem found, each with its path (`templates[3].prefix: required`). The same checks back
the editor, so anything the site saves can be exported and imported back unchanged.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

from playground.providers.prompt import (
    Parameters,
    Prompt,
    Variable,
    choice_from_json,
    choice_to_json,
    turn_from_json,
)
from playground.providers.tools import ToolChoice, ToolDef

from .budget import DEFAULT_BUDGET, Budget
from .tool_defs import choice_problem, read_tools
from .variables import NAME_RE, find_names, rendered_size, texts_of

SCHEMA = "prefix-playground/templates"
VERSION = 2
VERSIONS = (1, 2)  # what imports: version 1 is version 2 without tools

CATEGORIES = ("code_fence", "story", "json", "roleplay", "fim", "other")
ROLES = ("user", "assistant")
MAX_TEMPLATES = 1000
MAX_NAME = 120
MAX_DESCRIPTION = 2000
MAX_TAGS = 12
MAX_TAG = 40
MAX_IMAGES = 8
MAX_URL = 2000
# Longest whole number in a document: parameters need a few digits, and Python refuses to
# convert integers of over 4,300 digits (a ValueError that is not a JSON error).
MAX_INTEGER_DIGITS = 20
# Texts, turns, stops, import size and depth are configurable: budget.py, docs/limits.md.
MAX_VARIABLES = 50
MAX_VARIABLE_DESCRIPTION = 300
MAX_TOKENS = 1_000_000
MAX_SPEAKER = 64
TAG_RE = re.compile(rf"[^\s,|\x00]{{1,{MAX_TAG}}}")

TEMPLATE_FIELDS = (
    "key",
    "name",
    "description",
    "category",
    "tags",
    "system",
    "turns",
    "prefix",
    "reasoning_prefix",
    "suffix",
    "stop",
    "parameters",
    "variables",
    "speaker_name",  # optional, written only when set (added after version 1 shipped)
    "tools",  # version 2, written only when there are tools
    "tool_choice",  # version 2, written only when not "auto"
)
TOOLS_FIELDS = ("tools", "tool_choice")
PARAMETERS = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def normalise_tag(tag: str) -> str:
    """Return `tag` as stored: trimmed, lower case, inner spaces turned into hyphens."""
    return re.sub(r"\s+", "-", tag.strip()).lower()


def is_https_url(url: str) -> bool:
    """Return whether `url` is an absolute https URL with a host (templates allow no other)."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in url)


class _Reader:
    """Reads one JSON object field by field, recording a problem per bad field."""

    def __init__(
        self,
        obj: dict[str, Any],
        path: str,
        problems: list[Problem],
        budget: Budget = DEFAULT_BUDGET,
    ) -> None:
        self.obj, self.path, self.problems, self.budget = obj, path, problems, budget

    def at(self, field: str) -> str:
        return f"{self.path}.{field}" if self.path else field

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.at(field), message))

    def text(self, field: str, *, limit: int | None = None, required: bool = False) -> str:
        if field not in self.obj or self.obj[field] is None:
            if required:
                self.fail(field, "required")
            return ""
        value = self.obj[field]
        if not isinstance(value, str):
            self.fail(field, "must be a string")
            return ""
        if limit is None:
            limit = self.budget.text_chars
            if len(value) > limit:
                self.fail(
                    field,
                    f"at most {limit:,} characters (MAX_TEXT_CHARS; this one has {len(value):,})",
                )
        elif len(value) > limit:
            self.fail(field, f"at most {limit} characters (this one has {len(value)})")
        if "\x00" in value:
            # PostgreSQL cannot store NUL in text; no prompt needs one.
            self.fail(field, "must not contain NUL characters")
        return value

    def items(self, field: str, limit: int, setting: str = "") -> list[Any]:
        value = self.obj.get(field)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, "must be a list")
            return []
        if len(value) > limit:
            named = f"{setting}; " if setting else ""
            self.fail(field, f"at most {limit} items ({named}this one has {len(value):,})")
            return value[:limit]
        return value

    def number(self, field: str, low: float, high: float) -> float | None:
        value = self.obj.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            self.fail(field, "must be a number or null")
            return None
        if not low <= value <= high:
            self.fail(field, f"must be between {low:g} and {high:g}")
        return float(value)

    def integer(self, field: str, low: int, high: int) -> int | None:
        value = self.obj.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, "must be a whole number or null")
            return None
        if not low <= value <= high:
            self.fail(field, f"must be between {low} and {high}")
        return value

    def unknown(self, allowed: tuple[str, ...]) -> None:
        for field in self.obj:
            if field not in allowed:
                self.fail(str(field), "unknown field")


def _object(value: Any, path: str, problems: list[Problem]) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    problems.append(Problem(path, "must be a JSON object"))
    return None


def _tags(reader: _Reader) -> list[str]:
    tags: list[str] = []
    for index, raw in enumerate(reader.items("tags", MAX_TAGS)):
        tag = normalise_tag(raw) if isinstance(raw, str) else ""
        if not TAG_RE.fullmatch(tag):
            reader.fail(f"tags[{index}]", f"a tag is 1–{MAX_TAG} characters, no comma or bar")
        elif tag not in tags:
            tags.append(tag)
    return tags


def _turn(value: Any, path: str, problems: list[Problem], budget: Budget) -> dict[str, Any]:
    obj = _object(value, path, problems)
    if obj is None:
        return {"role": "user", "content": "", "images": []}
    reader = _Reader(obj, path, problems, budget)
    reader.unknown(("role", "content", "images"))
    role = obj.get("role")
    if role not in ROLES:
        reader.fail("role", 'must be "user" or "assistant"')
    content = reader.text("content")
    images = reader.items("images", MAX_IMAGES)
    if images and role == "assistant":
        reader.fail("images", "only user turns may carry images")
    for index, url in enumerate(images):
        if not isinstance(url, str) or len(url) > MAX_URL or not is_https_url(url) or "\x00" in url:
            reader.fail(f"images[{index}]", "must be an https:// URL")
    if not content and not images:
        reader.fail("content", "required (a turn needs text or an image)")
    return {"role": role, "content": content, "images": images}


def _stop(reader: _Reader) -> list[str]:
    limit = reader.budget.stop_chars
    stops = reader.items("stop", reader.budget.stop_sequences, "MAX_STOP_SEQUENCES")
    for index, stop in enumerate(stops):
        if not isinstance(stop, str) or not stop or "\x00" in stop:
            reader.fail(f"stop[{index}]", "must be a non-empty string without NUL")
        elif len(stop) > limit:
            reader.fail(f"stop[{index}]", f"at most {limit} characters (MAX_STOP_CHARS)")
    return stops


def _parameters(reader: _Reader) -> Parameters:
    obj = reader.obj.get("parameters")
    if obj is None:
        obj = {}
    obj = _object(obj, reader.at("parameters"), reader.problems) or {}
    params = _Reader(obj, reader.at("parameters"), reader.problems, reader.budget)
    params.unknown(("temperature", "max_tokens", "top_p"))
    return Parameters(
        temperature=params.number("temperature", *PARAMETERS["temperature"]),
        max_tokens=params.integer("max_tokens", 1, MAX_TOKENS),
        top_p=params.number("top_p", *PARAMETERS["top_p"]),
    )


def _variables(reader: _Reader, used: list[str]) -> tuple[Variable, ...]:
    notes: dict[str, Variable] = {}
    for index, value in enumerate(reader.items("variables", MAX_VARIABLES)):
        path = reader.at(f"variables[{index}]")
        obj = _object(value, path, reader.problems)
        if obj is None:
            continue
        item = _Reader(obj, path, reader.problems, reader.budget)
        item.unknown(("name", "default", "description"))
        name = obj.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            item.fail("name", "must match [A-Za-z_][A-Za-z0-9_]*")
            continue
        if name in notes:
            item.fail("name", f"{name!r} is listed twice")
        elif name not in used:
            item.fail("name", f"{{{{{name}}}}} is not used in any text of the template")
        default = item.text("default")
        description = item.text("description", limit=MAX_VARIABLE_DESCRIPTION)
        # An empty default means "no default": the run must then supply a value.
        notes[name] = Variable(name, default or None, description)
    return tuple(notes.get(name, Variable(name)) for name in used)


def _tools(reader: _Reader, version: int) -> tuple[tuple[ToolDef, ...], ToolChoice]:
    if version < 2:
        for field in TOOLS_FIELDS:
            if field in reader.obj:
                reader.fail(field, "needs version 2 of the format (version 1 has no tools)")
        return (), ToolChoice()
    tools = read_tools(
        reader.obj.get("tools"),
        lambda path, message: reader.fail("tools" + path, message),
        reader.budget,
    )
    raw = reader.obj.get("tool_choice", "auto")
    choice = choice_from_json(raw)
    if raw is not None and choice_to_json(choice) != raw:
        reader.fail(
            "tool_choice",
            'must be "auto", "none", "required" or {"type": "function", "name": <a tool>}',
        )
    else:
        problem = choice_problem(choice, tools)
        if problem:
            reader.fail("tool_choice", problem)
    return tools, choice


def read_template(
    value: Any,
    path: str,
    problems: list[Problem],
    budget: Budget = DEFAULT_BUDGET,
    version: int = VERSION,
) -> dict[str, Any]:
    """Return the canonical contents of one template object, appending its problems.

    Besides each text's own limit, the template filled in with its variables' defaults must fit
    the prompt budget: a default is a value any user of a shared template runs with.
    """
    obj = _object(value, path, problems)
    if obj is None:
        return {}
    reader = _Reader(obj, path, problems, budget)
    reader.unknown(TEMPLATE_FIELDS)
    category = obj.get("category", "other")
    if category not in CATEGORIES:
        reader.fail("category", "must be one of " + ", ".join(CATEGORIES))
    turns = [
        _turn(turn, reader.at(f"turns[{index}]"), problems, budget)
        for index, turn in enumerate(reader.items("turns", budget.turns, "MAX_TURNS"))
    ]
    meta: dict[str, Any] = {
        "key": reader.text("key", limit=80),
        "name": reader.text("name", limit=MAX_NAME, required=True),
        "description": reader.text("description", limit=MAX_DESCRIPTION),
        "category": category,
        "tags": _tags(reader),
    }
    prompt = Prompt(
        system=reader.text("system"),
        turns=tuple(turn_from_json(turn) for turn in turns),
        prefix=reader.text("prefix", required=True),
        reasoning_prefix=reader.text("reasoning_prefix"),
        suffix=reader.text("suffix"),
        stop=tuple(stop for stop in _stop(reader) if isinstance(stop, str)),
        parameters=_parameters(reader),
        speaker_name=reader.text("speaker_name", limit=MAX_SPEAKER),
    )
    tools, choice = _tools(reader, version)
    prompt = replace(prompt, tools=tools, tool_choice=choice)
    if any(char in prompt.speaker_name for char in "\r\n"):
        reader.fail("speaker_name", "must be one line")
    if "name" in obj and isinstance(obj["name"], str) and not obj["name"].strip():
        reader.fail("name", "required")
    # A template with tools may leave the prefix empty: the model answers, or calls a tool.
    if "prefix" in obj and not (
        prompt.prefix or prompt.reasoning_prefix or prompt.suffix or prompt.tools
    ):
        reader.fail("prefix", "must not be empty without a reasoning prefix or FIM suffix")
    variables = _variables(reader, find_names(texts_of(prompt)))
    prompt = replace(prompt, variables=variables)
    size = rendered_size(prompt, variables, {})
    if size > budget.prompt_chars:
        reader.fail(
            "prefix",
            f"with its variables' defaults filled in, the template is {size:,} characters; "
            f"the limit is {budget.prompt_chars:,} (MAX_PROMPT_CHARS)",
        )
    # The prompt's parts in the one JSON form (playground/providers/prompt.py).
    return {**meta, **prompt.to_json()}


def read_document(
    data: Any, budget: Budget = DEFAULT_BUDGET
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Return the templates of a parsed document, or the problems that make it unusable."""
    problems: list[Problem] = []
    doc = _object(data, "document", problems)
    if doc is None:
        return [], problems
    reader = _Reader(doc, "", problems)
    reader.unknown(("schema", "version", "exported_at", "templates"))
    if doc.get("schema") != SCHEMA:
        reader.fail("schema", f"must be {SCHEMA!r}")
    version = doc.get("version")
    if isinstance(version, bool) or version not in VERSIONS:
        shown = repr(version)[:40] if isinstance(version, str | int | float) else "of that kind"
        expected = " or ".join(str(number) for number in VERSIONS)
        reader.fail("version", f"unsupported version {shown} (expected {expected})")
        version = VERSION
    if "templates" not in doc:
        reader.fail("templates", "required")
    items = reader.items("templates", MAX_TEMPLATES)
    if "templates" in doc and isinstance(doc["templates"], list) and not items:
        reader.fail("templates", "must hold at least one template")
    templates = [
        read_template(item, f"templates[{i}]", problems, budget, int(version))
        for i, item in enumerate(items)
    ]
    return (templates, []) if not problems else ([], problems)


# A JSON string; an unclosed one runs to the end, so the scan never restarts inside it.
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"?')
NOT_BRACKET_RE = re.compile(r"[^\[\]{}]+")
# Openers become +1 and closers -1 as signed bytes, so the running sum is the depth.
DEPTH_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})


def nesting_depth(text: str) -> int:
    """Return how deeply arrays and objects nest in the JSON `text` (strings are skipped).

    Linear and done in C (regular expressions, then a running sum), so it is cheap on the
    document it refuses: json.loads on one nested a thousand deep raises RecursionError.
    """
    brackets = NOT_BRACKET_RE.sub("", STRING_RE.sub("", text))
    steps = array("b", brackets.translate(DEPTH_STEPS).encode("latin-1"))
    return max(accumulate(steps), default=0)


def bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"a number has more than {MAX_INTEGER_DIGITS} digits")
    return int(digits)


def parse(text: str, budget: Budget = DEFAULT_BUDGET) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Return the templates in the JSON `text`, or every problem found in it.

    The size and nesting are checked before the text is parsed (MAX_IMPORT_MB,
    MAX_IMPORT_DEPTH), and an absurdly long number is refused instead of converted.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > budget.import_bytes:
        limit = budget.import_bytes / 1_048_576
        return [], [
            Problem(
                "document",
                f"{size / 1_048_576:.1f} MB is larger than the {limit:g} MB an import may hold "
                "(MAX_IMPORT_MB)",
            )
        ]
    depth = nesting_depth(text)
    if depth > budget.import_depth:
        return [], [
            Problem(
                "document",
                f"arrays and objects nest {depth:,} deep; an import may nest at most "
                f"{budget.import_depth} (MAX_IMPORT_DEPTH)",
            )
        ]
    try:
        data = json.loads(text, parse_int=bounded_int)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        return [], [Problem("document", f"not valid JSON ({exc.msg} at {where})")]
    except (ValueError, RecursionError) as exc:
        return [], [Problem("document", f"not usable JSON ({exc})")]
    return read_document(data, budget)


def _ordered(content: dict[str, Any]) -> dict[str, Any]:
    # Fields in the documented order; a template without a starter key simply has none.
    return {
        field: content[field]
        for field in TEMPLATE_FIELDS
        if field in content and (field != "key" or content[field])
    }


def document(templates: list[dict[str, Any]], exported_at: str) -> dict[str, Any]:
    """Return an export document holding `templates` (canonical contents, `key` optional)."""
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "exported_at": exported_at,
        "templates": [_ordered(content) for content in templates],
    }
