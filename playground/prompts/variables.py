"""Template variables and prompt rendering, in pure Python (no Django), so they test alone.

A variable is written `{{name}}` in any text of a template: the system prompt, a turn's content
or image URL, the assistant prefix, the reasoning prefix, the FIM suffix or a stop sequence.
A name follows `[A-Za-z_][A-Za-z0-9_]*` and may have spaces inside the braces (`{{ name }}`).
Anything else between double braces (`{{ 1+1 }}`, `{{a-b}}`, `{{}}`) is not a variable and stays
as literal text. Substitution is a single pass, so a value that itself contains `{{x}}` is
inserted as it is and never expanded again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from playground.providers.base import Turn
from playground.providers.prompt import Prompt, Variable

VARIABLE_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
VARIABLE_RE = re.compile(r"\{\{\s*(" + VARIABLE_NAME + r")\s*\}\}")
NAME_RE = re.compile(VARIABLE_NAME)


class MissingVariables(ValueError):
    """Raised when variables without a default get no value; `names` lists them in order."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        super().__init__("missing values for: " + ", ".join(self.names))


def texts_of(prompt: Prompt) -> list[str]:
    """Return every text of `prompt` that may hold variables, in reading order."""
    texts = [prompt.system]
    for turn in prompt.turns:
        texts.append(turn.content)
        texts.extend(turn.images)
    texts += [prompt.prefix, prompt.reasoning_prefix, prompt.suffix]
    texts.extend(prompt.stop)
    return texts


def find_names(texts: Iterable[str]) -> list[str]:
    """Return the variable names used in `texts`, each once, in order of first use."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in VARIABLE_RE.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def detect(prompt: Prompt, known: Iterable[Variable] | None = None) -> list[Variable]:
    """Return the variables `prompt` uses, with the default and description noted for each.

    The notes come from `known` when given, else from the prompt's own `variables`.
    """
    return noted(find_names(texts_of(prompt)), prompt.variables if known is None else known)


def noted(names: Iterable[str], known: Iterable[Variable]) -> list[Variable]:
    """Return a Variable for each name, with its default and description from `known`."""
    notes = {variable.name: variable for variable in known}
    return [notes.get(name, Variable(name)) for name in names]


def substituted_length(text: str, values: Mapping[str, str]) -> int:
    """Return len(substitute(text, values)) without building the substituted text."""
    length = len(text)
    for match in VARIABLE_RE.finditer(text):
        value = values.get(match.group(1))
        if value is not None:
            length += len(value) - len(match.group(0))
    return length


def rendered_size(prompt: Prompt, variables: Iterable[Variable], values: Mapping[str, str]) -> int:
    """Return how many characters `prompt` holds once rendered, without rendering it.

    Counts every text (system, turns and their image URLs, prefixes, suffix, stops) with each
    variable replaced by its value or default; variables left without one count as written.
    Work and memory are linear in the size of the texts as written, whatever the values.
    """
    notes = {variable.name: variable for variable in variables}
    resolved: dict[str, str] = {}
    for name in find_names(texts_of(prompt)):
        given = values.get(name)
        default = notes[name].default if name in notes else None
        value = given or default
        if value is not None:
            resolved[name] = value
    return sum(substituted_length(text, resolved) for text in texts_of(prompt))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Return `text` with each `{{name}}` found in `values` replaced; others stay as written."""

    def replace_match(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return VARIABLE_RE.sub(replace_match, text)


def resolve(variables: Iterable[Variable], values: Mapping[str, str]) -> dict[str, str]:
    """Return the value of every variable: the given one, else its default.

    An empty string counts as not given, so a blank form field falls back to the default.
    Raise MissingVariables naming every variable left without a value.
    """
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for variable in variables:
        given = values.get(variable.name)
        if given:
            resolved[variable.name] = given
        elif variable.default is not None:
            resolved[variable.name] = variable.default
        else:
            missing.append(variable.name)
    if missing:
        raise MissingVariables(missing)
    return resolved


def render(prompt: Prompt, variables: Iterable[Variable], values: Mapping[str, str]) -> Prompt:
    """Return `prompt` (a template's raw text) with every variable filled in from `values`.

    The rendered prompt holds no variable notes: nothing in it is a variable any more.
    """
    resolved = resolve(detect(prompt, variables), values)

    def fill(text: str) -> str:
        return substitute(text, resolved)

    turns = tuple(
        Turn(turn.role, fill(turn.content), tuple(fill(url) for url in turn.images))
        for turn in prompt.turns
    )
    return replace(
        prompt,
        system=fill(prompt.system),
        turns=turns,
        prefix=fill(prompt.prefix),
        reasoning_prefix=fill(prompt.reasoning_prefix),
        suffix=fill(prompt.suffix),
        stop=tuple(fill(stop) for stop in prompt.stop),
        variables=(),
    )
