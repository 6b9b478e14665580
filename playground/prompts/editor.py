"""The template editor: the template form, its turns and the notes on its variables, as one.

The editor has two states. Bound to posted data it validates (through the forms and then the
exchange schema, so whatever it saves can be exported and imported back). Built from a draft, a
dict of the fields' texts, it only displays: that is how the turn buttons (add, remove, move)
and the live preview redraw what the user typed without flagging errors in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms

from playground.accounts.models import Team, User

from . import schema
from .budget import small_int
from .forms import (
    TemplateForm,
    budget,
    decode_stops,
    encode_stops,
    normalise_newlines,
    turn_formset,
)
from .models import Category, PrefixTemplate, Visibility
from .variables import find_names

VARIABLE_FIELD_RE = re.compile(r"var-(" + schema.NAME_RE.pattern + r")-(default|description)")
PROBLEM_PATH_RE = re.compile(r"(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")
TEXT_FIELDS = ("system", "prefix", "reasoning_prefix", "suffix")
MAIN_FIELDS = (
    "name",
    "description",
    "category",
    "tags",
    *TEXT_FIELDS,
    "speaker_name",
    "stop",
    "temperature",
    "max_tokens",
    "top_p",
    "visibility",
    "team",
)


@dataclass
class VariableRow:
    name: str
    default: str = ""
    description: str = ""
    errors: list[str] = field(default_factory=list)


def blank_draft() -> dict[str, Any]:
    """Return the editor's starting point for a new template."""
    draft: dict[str, Any] = dict.fromkeys(MAIN_FIELDS, "")
    draft.update(category=Category.OTHER, visibility=Visibility.PRIVATE)
    draft.update(turns=[{"role": "user", "content": "", "images": ""}], variables={})
    return draft


def draft_from_template(template: PrefixTemplate) -> dict[str, Any]:
    """Return the editor's fields, as text, for an existing template."""
    content = template.content()
    params = content["parameters"]
    draft: dict[str, Any] = {key: content[key] for key in ("name", "description", "category")}
    draft.update({key: content[key] for key in TEXT_FIELDS})
    draft["speaker_name"] = content.get("speaker_name", "")
    draft.update(
        tags=", ".join(content["tags"]),
        stop=encode_stops(content["stop"]),
        temperature="" if params["temperature"] is None else params["temperature"],
        max_tokens="" if params["max_tokens"] is None else params["max_tokens"],
        top_p="" if params["top_p"] is None else params["top_p"],
        visibility=template.visibility,
        team=str(template.team.code) if template.team else "",
        turns=[dict(turn, images="\n".join(turn["images"])) for turn in content["turns"]],
        variables={
            v["name"]: {"default": v["default"] or "", "description": v["description"]}
            for v in content["variables"]
        },
    )
    return draft


def draft_from_data(data: Any) -> dict[str, Any]:
    """Return the editor's fields exactly as posted, without validating them."""
    draft: dict[str, Any] = {key: normalise_newlines(data.get(key, "")) for key in MAIN_FIELDS}
    try:
        count = min(max(int(data.get("turns-TOTAL_FORMS", 0)), 0), budget().turns)
    except (ValueError, TypeError):
        count = 0
    draft["turns"] = [
        {
            key: normalise_newlines(data.get(f"turns-{index}-{key}", ""))
            for key in ("role", "content", "images")
        }
        for index in range(count)
    ]
    variables: dict[str, dict[str, str]] = {}
    for key, value in data.items():
        match = VARIABLE_FIELD_RE.fullmatch(key)
        if match:
            variables.setdefault(match.group(1), {})[match.group(2)] = normalise_newlines(value)
    draft["variables"] = variables
    return draft


def apply_turn_action(turns: list[dict[str, str]], action: str) -> list[dict[str, str]]:
    """Return `turns` after an editor button: "add", "remove-N", "up-N" or "down-N"."""
    turns = list(turns)
    if action == "add":
        if len(turns) < budget().turns:
            last = turns[-1]["role"] if turns else "assistant"
            role = "assistant" if last == "user" else "user"
            turns.append({"role": role, "content": "", "images": ""})
        return turns
    verb, _, number = action.partition("-")
    index = small_int(number)
    if index is None or index >= len(turns):
        return turns
    if verb == "remove":
        del turns[index]
    elif verb == "up" and index > 0:
        turns[index - 1], turns[index] = turns[index], turns[index - 1]
    elif verb == "down" and index < len(turns) - 1:
        turns[index + 1], turns[index] = turns[index], turns[index + 1]
    return turns


def draft_variable_names(draft: dict[str, Any]) -> list[str]:
    """Return the variable names used by the draft's texts, in order of first use."""
    texts = [draft["system"]]
    for turn in draft["turns"]:
        texts += [turn["content"], turn["images"]]
    texts += [draft["prefix"], draft["reasoning_prefix"], draft["suffix"], draft["stop"]]
    return find_names(texts)


class Editor:
    """The template form, its turns and its variable notes, edited and validated as one.

    Bound to posted data it validates; built from a draft (a dict of field texts) it only
    displays, which is how the turn buttons and the live preview redraw without error noise.
    """

    def __init__(
        self,
        user: User,
        template: PrefixTemplate | None = None,
        *,
        data: Any = None,
        draft: dict[str, Any] | None = None,
    ) -> None:
        self.template = template
        access = {
            "visibility": template.visibility if template else Visibility.PRIVATE,
            "team": str(template.team.code) if template and template.team else "",
        }
        if data is not None:
            self.draft = draft_from_data(data)
            self.form = TemplateForm(data, initial=access, user=user, template=template)
            self.turns = turn_formset()(data, prefix="turns")
        else:
            self.draft = draft or blank_draft()
            initial = {key: self.draft[key] for key in MAIN_FIELDS}
            self.form = TemplateForm(initial=initial, user=user, template=template)
            self.turns = turn_formset()(initial=self.draft["turns"], prefix="turns")
        self.variables = [
            VariableRow(name, **self.draft["variables"].get(name, {}))
            for name in draft_variable_names(self.draft)
        ]
        self.content: dict[str, Any] = {}

    @property
    def stops(self) -> list[str]:
        """Return the stop sequences as currently typed."""
        return decode_stops(self.draft["stop"])

    @property
    def trailing_whitespace(self) -> str:
        """Return what the typed prefix ends with when that is whitespace, else ""."""
        prefix = self.draft["prefix"]
        if not prefix or not prefix[-1].isspace():
            return ""
        return {" ": "a space", "\n": "a newline", "\t": "a tab"}.get(prefix[-1], "whitespace")

    def is_valid(self) -> bool:
        """Return whether everything validates; the canonical contents go to `self.content`."""
        form_ok = self.form.is_valid()
        turns_ok = self.turns.is_valid()
        if not (form_ok and turns_ok):
            return False
        kept = [
            form
            for form in self.turns.forms
            if form.cleaned_data.get("content") or form.cleaned_data.get("images")
        ]
        problems: list[schema.Problem] = []
        self.content = schema.read_template(self._raw_content(kept), "", problems, budget())
        for problem in problems:
            self._attach(problem, kept)
        return not problems

    def access(self) -> tuple[str, Team | None]:
        """Return the validated visibility and team."""
        return self.form.cleaned_data["visibility"], self.form.cleaned_data["team"]

    def _raw_content(self, turns: list[forms.Form]) -> dict[str, Any]:
        data = self.form.cleaned_data
        content = {key: data[key] for key in ("name", "description", "category", "tags", "stop")}
        content.update({key: data[key] for key in TEXT_FIELDS})
        content["speaker_name"] = data["speaker_name"]
        content["turns"] = [
            {key: form.cleaned_data[key] for key in ("role", "content", "images")} for form in turns
        ]
        content["parameters"] = {key: data[key] for key in ("temperature", "max_tokens", "top_p")}
        content["variables"] = [
            {"name": row.name, "default": row.default, "description": row.description}
            for row in self.variables
        ]
        return content

    def _attach(self, problem: schema.Problem, turns: list[forms.Form]) -> None:
        match = PROBLEM_PATH_RE.match(problem.path)
        head, index, tail = match.groups() if match else ("", None, None)
        message = problem.message[0].upper() + problem.message[1:] + "."
        if head == "turns" and index is not None:
            field_name = tail if tail in ("role", "content", "images") else None
            turns[int(index)].add_error(field_name, message)
        elif head == "variables" and index is not None:
            self.variables[int(index)].errors.append(message)
        elif head == "parameters" and tail in self.form.fields:
            self.form.add_error(tail, message)
        elif head in self.form.fields:
            self.form.add_error(head, message)
        else:
            self.form.add_error(None, str(problem))
