"""Checks on a cell's continuation: contains, does not contain, regex, valid JSON, closed fence.

Pure Python (no Django). Every check is linear in the text: the regex check uses RE2
(google-re2), whose matching time is linear in the text whatever the pattern, so no pattern
can backtrack catastrophically; patterns are capped in length and RE2's memory is capped.
Constructs RE2 refuses (backreferences, look-around) are reported when the check is saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

import re2


class CheckKind(StrEnum):
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    REGEX = "regex"
    JSON = "json"
    FENCE = "fence"


LABELS = {
    CheckKind.CONTAINS: "contains",
    CheckKind.NOT_CONTAINS: "does not contain",
    CheckKind.REGEX: "matches",
    CheckKind.JSON: "is valid JSON",
    CheckKind.FENCE: "closes the code fence",
}
NEEDS_VALUE = (CheckKind.CONTAINS, CheckKind.NOT_CONTAINS, CheckKind.REGEX)
MAX_CHECKS = 8
MAX_VALUE_CHARS = 200
_RE2_MEMORY = 8 << 20


class CheckError(ValueError):
    """A check that cannot be used; the message says why."""


@dataclass(frozen=True)
class Check:
    kind: CheckKind
    value: str = ""

    @property
    def label(self) -> str:
        label = LABELS[self.kind]
        return f"{label} “{self.value}”" if self.kind in NEEDS_VALUE else label

    def as_dict(self) -> dict[str, str]:
        return {"kind": str(self.kind), "value": self.value}


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _RE2_MEMORY
    return options


def compile_pattern(pattern: str) -> re2._Regexp:
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else ""
        raise CheckError(
            f"The pattern “{pattern}” cannot be used: {reason or 'RE2 refuses it'} "
            "(checks use RE2: no backreferences or look-around)."
        ) from None


def parse_check(kind: str, value: str) -> Check:
    """Return a Check, or raise CheckError with a message for the page."""
    try:
        chosen = CheckKind(kind)
    except ValueError:
        raise CheckError(f"Unknown check “{kind[:40]}”.") from None
    if chosen in NEEDS_VALUE:
        if not value:
            raise CheckError(f"The check “{LABELS[chosen]}” needs a value.")
        if len(value) > MAX_VALUE_CHARS:
            raise CheckError(
                f"A check's value is at most {MAX_VALUE_CHARS} characters; one has {len(value):,}."
            )
        if chosen == CheckKind.REGEX:
            compile_pattern(value)
        return Check(chosen, value)
    return Check(chosen)


def from_dicts(items: list[dict[str, str]]) -> list[Check]:
    return [Check(CheckKind(item["kind"]), item.get("value", "")) for item in items]


def _is_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped.startswith(("{", "[", '"')) and not stripped[:1].isdigit():
        return False
    try:
        json.loads(stripped)
    except (ValueError, RecursionError):
        return False
    return True


def _fence_lines(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.lstrip().startswith("```"))


def evaluate(check: Check, prefix: str, text: str) -> bool:
    """Return whether the continuation `text` (after `prefix`) passes `check`."""
    if check.kind == CheckKind.CONTAINS:
        return check.value in text
    if check.kind == CheckKind.NOT_CONTAINS:
        return check.value not in text
    if check.kind == CheckKind.REGEX:
        return compile_pattern(check.value).search(text) is not None
    if check.kind == CheckKind.JSON:
        return _is_json(prefix + text) or _is_json(text)
    # FENCE: the prefix opened a fence that the continuation closes (an even count overall).
    opened = _fence_lines(prefix)
    return opened % 2 == 1 and (opened + _fence_lines(text)) % 2 == 0


def evaluate_all(checks: list[Check], prefix: str, text: str) -> list[bool]:
    return [evaluate(check, prefix, text) for check in checks]
