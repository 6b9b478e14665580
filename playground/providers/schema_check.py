"""A small, bounded JSON Schema checker for the subset tool definitions use.

`mismatch(value, schema)` checks a tool call's arguments: type (one or a list), properties,
required, additionalProperties (false or a schema), enum, const, items, anyOf and local
`$ref`s into `$defs`/`definitions`. It returns the first problem with the path of the
offending field ("unit", "stops[2].city"), or None. Keywords outside the subset are ignored,
so a schema using them is checked less, never wrongly refused. Work is bounded by depth and by
the number of nodes visited, whatever the schema or the arguments hold.

`strict_problem(schema)` says why DeepSeek's strict mode would refuse a schema (see
docs/providers-tools.md, "DeepSeek strict mode"), or None when it is acceptable.

Why not the `jsonschema` package: it would add four packages (one compiled) to check a dozen
keywords, and it evaluates `pattern` regexes from user input, which is unbounded work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

MAX_DEPTH = 32
MAX_NODES = 20_000

JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")


@dataclass(frozen=True)
class Mismatch:
    """Where the arguments break the schema, and how."""

    path: str
    message: str

    def __str__(self) -> str:
        where = self.path or "the arguments"
        return f"does not match the schema: {where}: {self.message}"


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0

    def spend(self) -> bool:
        self.nodes += 1
        return self.nodes <= MAX_NODES


def _type_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "unknown"


def _fits_type(value: object, expected: str) -> bool:
    actual = _type_of(value)
    return actual == expected or (expected == "number" and actual == "integer")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _resolve(schema: dict[str, object], root: dict[str, object]) -> dict[str, object]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            defs = root.get(prefix[2:-1])
            target = defs.get(ref[len(prefix) :]) if isinstance(defs, dict) else None
            if isinstance(target, dict):
                return cast(dict[str, object], target)
    return {}  # an unresolvable reference constrains nothing here


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def mismatch(value: object, schema: dict[str, object]) -> Mismatch | None:
    """Return the first place `value` breaks `schema`, or None when it fits."""
    return _check(value, schema, schema, "", 0, _Budget())


def _check(
    value: object,
    schema: dict[str, object],
    root: dict[str, object],
    path: str,
    depth: int,
    budget: _Budget,
) -> Mismatch | None:
    if depth > MAX_DEPTH or not budget.spend():
        return None  # past the bound: what was checked so far stands
    schema = _resolve(schema, root)
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and any_of:
        options = [cast(dict[str, object], s) for s in any_of if isinstance(s, dict)]
        if options and all(
            _check(value, option, root, path, depth + 1, budget) for option in options
        ):
            return Mismatch(path, "matches none of the allowed forms (anyOf)")
    expected = schema.get("type")
    types = [expected] if isinstance(expected, str) else expected
    if isinstance(types, list) and types:
        names = [t for t in types if isinstance(t, str)]
        if names and not any(_fits_type(value, name) for name in names):
            wanted = " or ".join(names)
            return Mismatch(path, f"must be {wanted}, not {_type_of(value)} {_short(value)}")
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        allowed = ", ".join(_short(item) for item in enum[:10])
        return Mismatch(path, f"must be one of {allowed}; got {_short(value)}")
    if "const" in schema and value != schema["const"]:
        return Mismatch(path, f"must be {_short(schema['const'])}; got {_short(value)}")
    if isinstance(value, dict):
        return _check_object(cast(dict[str, object], value), schema, root, path, depth, budget)
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for number, item in enumerate(value):
                found = _check(
                    item,
                    cast(dict[str, object], items),
                    root,
                    f"{path}[{number}]",
                    depth + 1,
                    budget,
                )
                if found:
                    return found
    return None


def _check_object(
    value: dict[str, object],
    schema: dict[str, object],
    root: dict[str, object],
    path: str,
    depth: int,
    budget: _Budget,
) -> Mismatch | None:
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in value:
            return Mismatch(_join(path, name), "is required but missing")
    properties = schema.get("properties")
    known = cast(dict[str, object], properties) if isinstance(properties, dict) else {}
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        where = _join(path, name)
        sub = known.get(name)
        if isinstance(sub, dict):
            found = _check(item, cast(dict[str, object], sub), root, where, depth + 1, budget)
        elif name in known:
            found = None
        elif extra is False:
            found = Mismatch(where, "is not an allowed property (additionalProperties: false)")
        elif isinstance(extra, dict):
            found = _check(item, cast(dict[str, object], extra), root, where, depth + 1, budget)
        else:
            found = None
        if found:
            return found
    return None


def check_arguments(arguments: str, schema: dict[str, object]) -> Mismatch | None:
    """Return why the arguments' JSON text does not fit `schema` (unreadable JSON included)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError as error:
        return Mismatch("", f"is not valid JSON ({error})")
    return mismatch(value, schema)


# DeepSeek strict mode (docs/providers-tools.md): the types it takes, and per type the
# keywords it refuses.
STRICT_TYPES = frozenset({"object", "string", "number", "integer", "boolean", "array"})
STRICT_REFUSED = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
}
STRICT_FORMATS = frozenset({"email", "hostname", "ipv4", "ipv6", "uuid"})


def strict_problem(schema: dict[str, object]) -> str | None:
    """Return why DeepSeek's strict mode would refuse `schema`, or None if it takes it."""
    return _strict(schema, "", 0, _Budget())


def _strict(schema: dict[str, object], path: str, depth: int, budget: _Budget) -> str | None:
    if depth > MAX_DEPTH or not budget.spend():
        return "the schema is nested too deeply to check"
    where = path or "the parameters"
    if "$ref" in schema:
        return None  # references point into $defs, which are checked on their own
    for key in ("$defs", "definitions"):
        defs = schema.get(key)
        for name, sub in defs.items() if isinstance(defs, dict) else []:
            if isinstance(sub, dict):
                found = _strict(cast(dict[str, object], sub), f"{key}.{name}", depth + 1, budget)
                if found:
                    return found
    any_of = schema.get("anyOf")
    if isinstance(any_of, list):
        for number, sub in enumerate(any_of):
            if isinstance(sub, dict):
                found = _strict(
                    cast(dict[str, object], sub), f"{where}.anyOf[{number}]", depth + 1, budget
                )
                if found:
                    return found
        if "type" not in schema:
            return None
    if "enum" in schema and "type" not in schema:
        return None
    kind = schema.get("type")
    if not isinstance(kind, str):
        return f"{where} needs a single type (one of {', '.join(sorted(STRICT_TYPES))})"
    if kind not in STRICT_TYPES:
        return f"{where} has the type {kind!r}, which strict mode does not support"
    for keyword in STRICT_REFUSED.get(kind, ()):
        if keyword in schema:
            return f"{where} uses {keyword}, which strict mode does not support"
    fmt = schema.get("format")
    if kind == "string" and fmt is not None and fmt not in STRICT_FORMATS:
        return f"{where} has the format {fmt!r}; strict mode takes only " + ", ".join(
            sorted(STRICT_FORMATS)
        )
    if kind == "object":
        return _strict_object(schema, path, depth, budget)
    items = schema.get("items")
    if kind == "array" and isinstance(items, dict):
        return _strict(cast(dict[str, object], items), f"{path}[]", depth + 1, budget)
    return None


def _strict_object(schema: dict[str, object], path: str, depth: int, budget: _Budget) -> str | None:
    where = path or "the parameters"
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return f"{where} is an object without properties, which strict mode does not support"
    if schema.get("additionalProperties") is not False:
        return f"{where} must set additionalProperties to false in strict mode"
    required = schema.get("required")
    listed = set(required) if isinstance(required, list) else set()
    missing = [name for name in properties if name not in listed]
    if missing:
        return (
            f"every property must be required in strict mode; {where} does not require "
            + ", ".join(missing[:5])
        )
    for name, sub in properties.items():
        if isinstance(sub, dict):
            found = _strict(cast(dict[str, object], sub), _join(path, name), depth + 1, budget)
            if found:
                return found
    return None


def schema_problem(schema: object) -> str | None:
    """Return why `schema` cannot be a function's parameters at all, or None."""
    if not isinstance(schema, dict):
        return "the parameters must be a JSON Schema object"
    kind = schema.get("type")
    if kind is not None and kind != "object":
        return 'the parameters schema must have "type": "object"'
    for key in ("properties", "$defs", "definitions"):
        if key in schema and not isinstance(schema[key], dict):
            return f"{key} must be an object"
    if "required" in schema and not isinstance(schema["required"], list):
        return "required must be a list of property names"
    return None
