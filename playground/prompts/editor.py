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

from django.http import QueryDict

from playground.accounts.models import Team, User
from playground.providers.prompt import Variable, stops_from_text

from . import schema
from .budget import small_int
from .forms import (
    TURN_PREFIX,
    TemplateForm,
    TurnForm,
    TurnRows,
    budget,
    normalise_newlines,
    prompt_from_forms,
    prompt_initial,
    row_indexes,
    turn_initial,
)
from .models import Category, PrefixTemplate, Visibility
from .variables import NAME_RE, find_names

VARIABLE_FIELD_RE = re.compile(r"var-(" + NAME_RE.pattern + r")-(default|description)")
PROBLEM_PATH_RE = re.compile(r"(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")
TEXT_FIELDS = ("system", "prefix", "reasoning_prefix", "suffix")
META_FIELDS = ("name", "description", "category", "tags")
MAIN_FIELDS = (
    *META_FIELDS,
    *TEXT_FIELDS,
    "speaker_name",
    "stop",
    "temperature",
    "max_tokens",
    "top_p",
    "tools",
    "tool_choice",
    "visibility",
    "team",
)
TURN_FIELDS = ("role", "content", "images")
Draft = dict[str, Any]


@dataclass
class VariableRow:
    name: str
    default: str = ""
    description: str = ""
    errors: list[str] = field(default_factory=list)


def blank_draft() -> Draft:
    """Return the editor's starting point for a new template."""
    draft: Draft = dict.fromkeys(MAIN_FIELDS, "")
    draft.update(category=Category.OTHER, visibility=Visibility.PRIVATE)
    draft.update(turns=[{"role": "user", "content": "", "images": ""}], variables={})
    return draft


def draft_from_template(template: PrefixTemplate) -> Draft:
    """Return the editor's fields, as text, for an existing template."""
    prompt = template.prompt
    fields = {key: "" if value is None else value for key, value in prompt_initial(prompt).items()}
    draft: Draft = {
        "name": template.name,
        "description": template.description,
        "category": template.category,
        "tags": ", ".join(template.tags),
        **fields,
        "visibility": template.visibility,
        "team": str(template.team.code) if template.team else "",
        "turns": [turn_initial(turn) for turn in prompt.turns],
        "variables": {
            v.name: {"default": v.default or "", "description": v.description}
            for v in prompt.variables
        },
    }
    return draft


def draft_from_data(data: QueryDict) -> Draft:
    """Return the editor's fields exactly as posted, without validating them."""
    draft: Draft = {key: normalise_newlines(data.get(key, "")) for key in MAIN_FIELDS}
    rows = row_indexes(data, TURN_PREFIX, "role")[: budget().turns]
    draft["turns"] = [
        {key: normalise_newlines(data.get(f"{TURN_PREFIX}{row}-{key}", "")) for key in TURN_FIELDS}
        for row in rows
    ]
    variables: dict[str, dict[str, str]] = {}
    for key, value in data.items():
        match = VARIABLE_FIELD_RE.fullmatch(key)
        if match:
            variables.setdefault(match.group(1), {})[match.group(2)] = normalise_newlines(
                str(value)
            )
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


def draft_variable_names(draft: Draft) -> list[str]:
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
        data: QueryDict | None = None,
        draft: Draft | None = None,
    ) -> None:
        self.template = template
        access = {
            "visibility": template.visibility if template else Visibility.PRIVATE,
            "team": str(template.team.code) if template and template.team else "",
        }
        if data is not None:
            self.draft = draft_from_data(data)
            self.form = TemplateForm(data, initial=access, user=user, template=template)
            self.turns = TurnRows.bound(data)
        else:
            self.draft = draft or blank_draft()
            initial = {key: self.draft[key] for key in MAIN_FIELDS}
            self.form = TemplateForm(initial=initial, user=user, template=template)
            self.turns = TurnRows.showing(self.draft["turns"])
        self.variables = [
            VariableRow(name, **self.draft["variables"].get(name, {}))
            for name in draft_variable_names(self.draft)
        ]
        self.content: dict[str, Any] = {}

    @property
    def stops(self) -> tuple[str, ...]:
        """Return the stop sequences as currently typed."""
        return stops_from_text(self.draft["stop"])

    @property
    def trailing_whitespace(self) -> str:
        """Return what the typed prefix ends with when that is whitespace, else ""."""
        prefix: str = self.draft["prefix"]
        if not prefix or not prefix[-1].isspace():
            return ""
        return {" ": "a space", "\n": "a newline", "\t": "a tab"}.get(prefix[-1], "whitespace")

    def is_valid(self) -> bool:
        """Return whether everything validates; the canonical contents go to `self.content`."""
        form_ok = self.form.is_valid()
        turns_ok = self.turns.is_valid()
        if not (form_ok and turns_ok):
            return False
        kept = self.turns.filled()
        problems: list[schema.Problem] = []
        self.content = schema.read_template(self._raw_content(kept), "", problems, budget())
        for problem in problems:
            self._attach(problem, kept)
        return not problems

    def access(self) -> tuple[str, Team | None]:
        """Return the validated visibility and team."""
        return self.form.cleaned_data["visibility"], self.form.cleaned_data["team"]

    def _raw_content(self, turns: list[TurnForm]) -> dict[str, Any]:
        data = self.form.cleaned_data
        notes = [Variable(row.name, row.default, row.description) for row in self.variables]
        prompt = prompt_from_forms(self.form, turns, notes)
        return {**{key: data[key] for key in META_FIELDS}, **prompt.to_json()}

    def _attach(self, problem: schema.Problem, turns: list[TurnForm]) -> None:
        match = PROBLEM_PATH_RE.match(problem.path)
        head, index, tail = match.groups() if match else ("", None, None)
        message = problem.message[0].upper() + problem.message[1:] + "."
        if head == "turns" and index is not None:
            field_name = tail if tail in TURN_FIELDS else None
            turns[int(index)].add_error(field_name, message)
        elif head == "variables" and index is not None:
            self.variables[int(index)].errors.append(message)
        elif head == "tools":
            self.form.add_error(head if head in self.form.fields else None, str(problem) + ".")
        elif head == "tool_choice":
            self.form.add_error(head, message)
        elif head == "parameters" and tail in self.form.fields:
            self.form.add_error(tail, message)
        elif head in self.form.fields:
            self.form.add_error(head, message)
        else:
            self.form.add_error(None, str(problem))
