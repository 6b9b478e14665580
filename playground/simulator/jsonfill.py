"""Finish a partly written JSON object so that prefix + continuation parses.

The prefix is scanned once with a small state machine (open containers, what each expects
next, whether we stopped inside a string or a bare literal); the continuation then closes the
open token, adds the missing keys at the top level and closes every container, in the prefix's
own layout (indented when the prefix has newlines, compact otherwise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from playground.simulator.corpus import JSON_VALUES

_LITERALS = ("true", "false", "null")


@dataclass
class _Frame:
    kind: str  # "{" or "["
    expect: str  # object: key | colon | value | comma; array: value | comma
    members: int = 0
    keys: list[str] = field(default_factory=list)


@dataclass
class _State:
    frames: list[_Frame] = field(default_factory=list)
    in_string: bool = False
    string_is_key: bool = False
    text: str = ""
    escape: bool = False
    literal: str = ""


def _begin_value(state: _State) -> None:
    top = state.frames[-1]
    top.expect = "comma"
    if top.kind == "[":
        top.members += 1


def _scan_char(state: _State, ch: str) -> None:
    if state.literal:
        if ch.isalnum() or ch in ".+-":
            state.literal += ch
            return
        state.literal = ""
    top = state.frames[-1]
    if ch.isspace():
        return
    if ch in "{[":
        _begin_value(state)
        state.frames.append(_Frame(ch, "key" if ch == "{" else "value"))
    elif ch in "}]":
        state.frames.pop()
    elif ch == '"':
        state.in_string, state.text = True, ""
        state.string_is_key = top.kind == "{" and top.expect == "key"
        if state.string_is_key:
            top.expect, top.members = "colon", top.members + 1
        else:
            _begin_value(state)
    elif ch == ":":
        top.expect = "value"
    elif ch == ",":
        top.expect = "key" if top.kind == "{" else "value"
    else:
        _begin_value(state)
        state.literal = ch


def scan(prefix: str) -> _State | None:
    """Return the parser state at the end of `prefix`, or None when it holds no open object."""
    start = prefix.find("{")
    if start < 0:
        return None
    state = _State(frames=[_Frame("{", "key")])
    for ch in prefix[start + 1 :]:
        if not state.frames:
            return None
        if state.in_string:
            if state.escape:
                state.escape = False
            elif ch == "\\":
                state.escape = True
                continue
            elif ch == '"':
                state.in_string = False
                if state.string_is_key:
                    state.frames[-1].keys.append(state.text)
                continue
            state.text += ch
            continue
        _scan_char(state, ch)
    return state if state.frames else None


def value_for(key: str) -> str:
    """Return a plausible JSON value for `key`, encoded."""
    value = JSON_VALUES.get(key.lower(), f"example {key}".strip())
    return json.dumps(value, ensure_ascii=False)


def _finish_literal(literal: str) -> str:
    for word in _LITERALS:
        if word.startswith(literal):
            return word[len(literal) :]
    return "0" if literal[-1] in "+-.eE" else ""


def _layout(prefix: str) -> tuple[bool, str]:
    """Return whether the prefix is indented, and its indent unit."""
    for line in prefix.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            return True, line[: len(line) - len(stripped)]
    return "\n" in prefix, "  "


@dataclass
class _Writer:
    """The continuation being written, in the prefix's layout."""

    prefix: str
    pretty: bool
    unit: str
    out: list[str] = field(default_factory=list)

    def blank(self) -> bool:
        return (self.prefix + "".join(self.out))[-1:].isspace()

    def member(self, depth: int, text: str, after_comma: bool) -> None:
        # Before a new member: the prefix's own indentation, or one space after a comma.
        if self.blank():
            gap = ""
        elif self.pretty:
            gap = "\n" + self.unit * depth
        else:
            gap = " " if after_comma else ""
        self.out.append(gap + text)


def complete(prefix: str, keys: list[str], extra_items: int = 0) -> str:
    """Return text that turns `prefix` (which opens a JSON object) into one valid object."""
    state = scan(prefix)
    if state is None:
        return ""
    writer = _Writer(prefix, *_layout(prefix))
    writer.out.append(_close_token(state, keys))
    while state.frames:
        frame, depth = state.frames[-1], len(state.frames)
        _finish_member(writer, frame, depth, keys)
        if depth == 1:
            for key in [k for k in keys if k not in frame.keys]:
                writer.out.append("," if frame.keys else "")
                writer.member(depth, f"{json.dumps(key)}: {value_for(key)}", bool(frame.keys))
                frame.keys.append(key)
            if extra_items:
                writer.out.append("," if frame.keys else "")
                items = _items(extra_items, writer.pretty, writer.unit)
                writer.member(depth, items, bool(frame.keys))
        indent = "\n" + writer.unit * (depth - 1) if writer.pretty else ""
        writer.out.append(indent + ("}" if frame.kind == "{" else "]"))
        state.frames.pop()
    return "".join(writer.out)


def _finish_member(writer: _Writer, frame: _Frame, depth: int, keys: list[str]) -> None:
    """Complete a member the prefix left half-written (a key without value, a dangling comma)."""
    last_key = frame.keys[-1] if frame.keys else ""
    if frame.expect == "colon":
        writer.out.append(": " + value_for(last_key))
    elif frame.expect == "value" and (frame.kind == "{" or frame.members > 0):
        value = value_for(last_key if frame.kind == "{" else "")
        writer.out.append(value if writer.blank() else " " + value)
    elif frame.expect == "key" and frame.members > 0:
        key = next((k for k in keys if k not in frame.keys), f"field_{frame.members}")
        frame.keys.append(key)
        writer.member(depth, f"{json.dumps(key)}: {value_for(key)}", True)


def _close_token(state: _State, keys: list[str]) -> str:
    """Return the text that ends a string or bare literal the prefix stopped inside."""
    if state.in_string:
        text = "n" if state.escape else ""
        if state.string_is_key:
            key = state.text or keys[0]
            state.frames[-1].keys.append(key)
            return text + ("" if state.text else key) + '"'
        return text + ("" if state.text else "example") + '"'
    if state.literal:
        return _finish_literal(state.literal)
    return ""


def _items(count: int, pretty: bool, unit: str) -> str:
    """Return an `"items"` member holding `count` small objects (for long outputs)."""
    rows = [
        json.dumps({"index": i, "label": f"item {i}", "done": i % 3 == 0}) for i in range(count)
    ]
    if not pretty:
        return '"items": [' + ", ".join(rows) + "]"
    inner = "\n" + unit * 2
    return '"items": [' + inner + ("," + inner).join(rows) + "\n" + unit + "]"
