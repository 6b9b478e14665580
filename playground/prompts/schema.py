"""The JSON exchange format for templates, version 1 (documented in docs/template-schema.md).

Pure Python: it reads a parsed document and returns either the canonical template contents or
every problem found, each with its path (`templates[3].prefix: required`). The same checks back
the editor, so anything the site saves can be exported and imported back unchanged.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .variables import NAME_RE, find_names

SCHEMA = "prefix-playground/templates"
VERSION = 1

CATEGORIES = ("code_fence", "story", "json", "roleplay", "fim", "other")
ROLES = ("user", "assistant")
MAX_TEMPLATES = 1000
MAX_NAME = 120
MAX_DESCRIPTION = 2000
MAX_TEXT = 100_000
MAX_TAGS = 12
MAX_TAG = 40
MAX_TURNS = 50
MAX_IMAGES = 8
MAX_URL = 2000
MAX_STOP = 16  # DeepSeek's limit, the strictest among the providers
MAX_STOP_LENGTH = 200
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
)
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

    def __init__(self, obj: dict[str, Any], path: str, problems: list[Problem]) -> None:
        self.obj, self.path, self.problems = obj, path, problems

    def at(self, field: str) -> str:
        return f"{self.path}.{field}" if self.path else field

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.at(field), message))

    def text(self, field: str, *, limit: int = MAX_TEXT, required: bool = False) -> str:
        if field not in self.obj or self.obj[field] is None:
            if required:
                self.fail(field, "required")
            return ""
        value = self.obj[field]
        if not isinstance(value, str):
            self.fail(field, "must be a string")
            return ""
        if len(value) > limit:
            self.fail(field, f"at most {limit} characters (this one has {len(value)})")
        if "\x00" in value:
            # PostgreSQL cannot store NUL in text; no prompt needs one.
            self.fail(field, "must not contain NUL characters")
        return value

    def items(self, field: str, limit: int) -> list[Any]:
        value = self.obj.get(field)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, "must be a list")
            return []
        if len(value) > limit:
            self.fail(field, f"at most {limit} items (this one has {len(value)})")
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


def _turn(value: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
    obj = _object(value, path, problems)
    if obj is None:
        return {"role": "user", "content": "", "images": []}
    reader = _Reader(obj, path, problems)
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
    stops = reader.items("stop", MAX_STOP)
    for index, stop in enumerate(stops):
        if not isinstance(stop, str) or not stop or "\x00" in stop:
            reader.fail(f"stop[{index}]", "must be a non-empty string without NUL")
        elif len(stop) > MAX_STOP_LENGTH:
            reader.fail(f"stop[{index}]", f"at most {MAX_STOP_LENGTH} characters")
    return stops


def _parameters(reader: _Reader) -> dict[str, Any]:
    obj = reader.obj.get("parameters")
    if obj is None:
        obj = {}
    obj = _object(obj, reader.at("parameters"), reader.problems) or {}
    params = _Reader(obj, reader.at("parameters"), reader.problems)
    params.unknown(("temperature", "max_tokens", "top_p"))
    return {
        "temperature": params.number("temperature", *PARAMETERS["temperature"]),
        "max_tokens": params.integer("max_tokens", 1, MAX_TOKENS),
        "top_p": params.number("top_p", *PARAMETERS["top_p"]),
    }


def _variables(reader: _Reader, used: list[str]) -> list[dict[str, Any]]:
    notes: dict[str, dict[str, Any]] = {}
    for index, value in enumerate(reader.items("variables", MAX_VARIABLES)):
        path = reader.at(f"variables[{index}]")
        obj = _object(value, path, reader.problems)
        if obj is None:
            continue
        item = _Reader(obj, path, reader.problems)
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
        notes[name] = {"name": name, "default": default or None, "description": description}
    return [notes.get(name, {"name": name, "default": None, "description": ""}) for name in used]


def _used_names(content: dict[str, Any]) -> list[str]:
    texts = [content["system"]]
    for turn in content["turns"]:
        texts.append(turn["content"])
        texts.extend(url for url in turn["images"] if isinstance(url, str))
    texts += [content["prefix"], content["reasoning_prefix"], content["suffix"]]
    texts.extend(stop for stop in content["stop"] if isinstance(stop, str))
    return find_names(texts)


def read_template(value: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
    """Return the canonical contents of one template object, appending its problems."""
    obj = _object(value, path, problems)
    if obj is None:
        return {}
    reader = _Reader(obj, path, problems)
    reader.unknown(TEMPLATE_FIELDS)
    category = obj.get("category", "other")
    if category not in CATEGORIES:
        reader.fail("category", "must be one of " + ", ".join(CATEGORIES))
    turns = [
        _turn(turn, reader.at(f"turns[{index}]"), problems)
        for index, turn in enumerate(reader.items("turns", MAX_TURNS))
    ]
    content: dict[str, Any] = {
        "key": reader.text("key", limit=80),
        "name": reader.text("name", limit=MAX_NAME, required=True),
        "description": reader.text("description", limit=MAX_DESCRIPTION),
        "category": category,
        "tags": _tags(reader),
        "system": reader.text("system"),
        "turns": turns,
        "prefix": reader.text("prefix", required=True),
        "reasoning_prefix": reader.text("reasoning_prefix"),
        "suffix": reader.text("suffix"),
        "stop": _stop(reader),
        "parameters": _parameters(reader),
    }
    speaker = reader.text("speaker_name", limit=MAX_SPEAKER)
    if any(char in speaker for char in "\r\n"):
        reader.fail("speaker_name", "must be one line")
    if speaker:
        # Only when set, so a template without one reads (and exports) as it always did.
        content["speaker_name"] = speaker
    if "name" in obj and isinstance(obj["name"], str) and not obj["name"].strip():
        reader.fail("name", "required")
    texts = (content["prefix"], content["reasoning_prefix"], content["suffix"])
    if "prefix" in obj and not any(texts):
        reader.fail("prefix", "must not be empty without a reasoning prefix or FIM suffix")
    content["variables"] = _variables(reader, _used_names(content))
    return content


def read_document(data: Any) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Return the templates of a parsed document, or the problems that make it unusable."""
    problems: list[Problem] = []
    doc = _object(data, "document", problems)
    if doc is None:
        return [], problems
    reader = _Reader(doc, "", problems)
    reader.unknown(("schema", "version", "exported_at", "templates"))
    if doc.get("schema") != SCHEMA:
        reader.fail("schema", f"must be {SCHEMA!r}")
    if doc.get("version") != VERSION:
        reader.fail("version", f"unsupported version {doc.get('version')!r} (expected {VERSION})")
    if "templates" not in doc:
        reader.fail("templates", "required")
    items = reader.items("templates", MAX_TEMPLATES)
    if "templates" in doc and isinstance(doc["templates"], list) and not items:
        reader.fail("templates", "must hold at least one template")
    templates = [read_template(item, f"templates[{i}]", problems) for i, item in enumerate(items)]
    return (templates, []) if not problems else ([], problems)


def parse(text: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Return the templates in the JSON `text`, or every problem found in it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        return [], [Problem("document", f"not valid JSON ({exc.msg} at {where})")]
    return read_document(data)


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
