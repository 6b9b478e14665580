"""The forms of the prompts: the prompt's fields and its turns (shared by the template editor
and the compare page), the library filters and the import page. They only validate.

Whitespace rule: the prompt texts are stored exactly as typed. Nothing is stripped, and the only
change made is deliberate: browsers send line breaks as \r\n, which become \n.

The form codec lives here too: `prompt_initial` and `turn_forms` show a `Prompt` in the fields,
`prompt_from_forms` reads one back from valid forms. Stops go through the one stop codec
(`stops_to_text`, `stops_from_text` in playground/providers/prompt.py), so a stop typed as the
two characters \n and a stop holding a real newline both come back as they were, on both pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast

from django import forms
from django.conf import settings

from playground.accounts.models import Team, User
from playground.providers.base import Turn
from playground.providers.prompt import (
    STOP_HELP,
    Parameters,
    Prompt,
    Variable,
    stops_from_text,
    stops_to_text,
    tool_to_json,
)
from playground.providers.tools import ToolChoice, ToolDef

from . import schema
from .budget import Budget, from_settings, too_long
from .models import EDITOR_ROLES, Category, PrefixTemplate, Sort, Visibility
from .tool_defs import CHOICE_HELP, choice_from_text, choice_problem, choice_to_text, read_tools

# The turns' field names: `turns-{N}-role`, `turns-{N}-content`, `turns-{N}-images`.
TURN_PREFIX = "turns-"
ROLE_CHOICES = [("user", "User"), ("assistant", "Assistant")]
ImageCheck = Callable[[str], str]


def budget() -> Budget:
    """Return the input budget configured in settings (docs/limits.md)."""
    return from_settings(settings)


def normalise_newlines(text: str) -> str:
    """Return `text` with \r\n and lone \r turned into \n (how browsers send textareas)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_problem(text: str, limits: Budget) -> str:
    """Return why one text of a prompt is over the budget, or ""."""
    if len(text) > limits.text_chars:
        return too_long("This text", len(text), limits.text_chars, "MAX_TEXT_CHARS")
    return ""


def stop_problem(stops: Sequence[str], limits: Budget) -> str:
    """Return why `stops` is over the budget (count, or one too long), or ""."""
    if len(stops) > limits.stop_sequences:
        return (
            f"At most {limits.stop_sequences} stop sequences (MAX_STOP_SEQUENCES); "
            f"this has {len(stops):,}."
        )
    for stop in stops:
        if len(stop) > limits.stop_chars:
            return (
                f"A stop sequence is at most {limits.stop_chars} characters (MAX_STOP_CHARS); "
                f"one has {len(stop):,}."
            )
    return ""


def turns_problem(count: int, limits: Budget) -> str:
    """Return why `count` turns are too many, or ""."""
    if count > limits.turns:
        return f"A prompt holds at most {limits.turns} turns (MAX_TURNS)."
    return ""


def row_indexes(data: Mapping[str, Any], prefix: str, field: str) -> list[int]:
    """Return the row numbers posted for `{prefix}{N}-{field}`, in ascending order."""
    # At most four ASCII digits: a row number, never a 5,000-digit one int() would refuse.
    pattern = re.compile(rf"^{re.escape(prefix)}(\d{{1,4}})-{re.escape(field)}$", re.ASCII)
    found = {int(match.group(1)) for key in data if (match := pattern.match(key))}
    return sorted(found)


def add_choices(form: forms.Form, name: str, choices: Iterable[tuple[str, str]]) -> None:
    """Append `choices` to the choice field `name` of `form`."""
    field = form.fields[name]
    if isinstance(field, forms.ChoiceField):
        # Choices set as a list at declaration come back as a list (not a callable).
        field.choices = [*cast(list[tuple[str, str]], field.choices), *choices]


class ExactTextField(forms.CharField):
    """A textarea kept exactly as typed: no stripping, browser line breaks normalised to \n."""

    def __init__(self, rows: int = 4, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        # No max_length here: the schema checks each text against MAX_TEXT_CHARS, read from
        # settings when the form is validated, and names the limit in its message.
        # data-live: typing here refreshes the editor's live preview (see editor.html).
        attrs = {"rows": rows, "spellcheck": "false", "data-live": True}
        kwargs.setdefault("widget", forms.Textarea(attrs=attrs))
        super().__init__(strip=False, **kwargs)

    def to_python(self, value: Any) -> str:
        return normalise_newlines(str(super().to_python(value)))


class StopField(ExactTextField):
    """Stop sequences, one per line, read and written by the one stop codec."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", STOP_HELP)
        super().__init__(rows=2, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return stops_to_text(value)
        return value

    def clean(self, value: Any) -> list[str]:
        stops = list(stops_from_text(super().clean(value)))
        problem = stop_problem(stops, budget())
        if problem:
            raise forms.ValidationError(problem)
        return stops


def tools_to_text(tools: Iterable[ToolDef]) -> str:
    """Return tool definitions as the Tools field shows them: indented JSON, "" for none."""
    listed = [tool_to_json(tool) for tool in tools]
    return json.dumps(listed, indent=2, ensure_ascii=False) if listed else ""


def tools_from_text(text: str, limits: Budget) -> tuple[tuple[ToolDef, ...], list[str]]:
    """Return the tools written as JSON in `text`, or the problems that make it unusable.

    The size and nesting are checked before the text is parsed (MAX_TOOLS_CHARS,
    MAX_IMPORT_DEPTH); every problem names the tool and field (`tools[1].name: ...`).
    """
    if not text.strip():
        return (), []
    if len(text) > limits.tools_chars:
        return (), [too_long("The tools text", len(text), limits.tools_chars, "MAX_TOOLS_CHARS")]
    depth = schema.nesting_depth(text)
    if depth > limits.import_depth:
        return (), [
            f"The tools nest {depth:,} deep; at most {limits.import_depth} (MAX_IMPORT_DEPTH)."
        ]
    try:
        value = json.loads(text, parse_int=schema.bounded_int)
    except json.JSONDecodeError as exc:
        return (), [f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."]
    except ValueError as exc:
        return (), [f"Not usable JSON: {exc}."]
    problems: list[str] = []
    tools = read_tools(
        value, lambda path, message: problems.append(f"tools{path}: {message}"), limits
    )
    return tools, problems


class ToolsField(forms.CharField):
    """The tools as one JSON text (a list of definitions), checked by prompts/tool_defs.py."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        attrs = {"rows": 8, "spellcheck": "false", "class": "code-input", "data-live": True}
        kwargs.setdefault("widget", forms.Textarea(attrs=attrs))
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tools_to_text(value)
        return value

    def clean(self, value: Any) -> tuple[ToolDef, ...]:
        text = normalise_newlines(str(super().clean(value)))
        tools, problems = tools_from_text(text, budget())
        if problems:
            raise forms.ValidationError(problems[:10])
        return tools


TOOLS_HELP = (
    'A JSON list of functions: [{"name": "get_weather", "description": "...", '
    '"parameters": {"type": "object", "properties": {...}, "required": [...]}, '
    '"strict": true, "result": "a canned answer"}]. "result" (optional) is what '
    "Answer all with canned results sends back when the model calls that tool. Empty: no "
    "tools. With an assistant prefix, use tool choice auto or none: a prefix commits the "
    "reply to text, so a forced call is refused before sending."
)


class PromptFields(forms.Form):
    """The prompt's own fields (all but its turns and variables), the same on every page."""

    system = ExactTextField(label="System prompt")
    # A field named `prefix` shadows Form.prefix on the class only; Django's metaclass moves
    # declared fields into base_fields, so instances keep their own `prefix` string.
    prefix = ExactTextField(  # type: ignore[assignment]
        rows=5,
        label="Assistant prefix",
        help_text="The start of the assistant's reply. Whitespace counts: a trailing space or "
        "newline changes what the model writes.",
    )
    reasoning_prefix = ExactTextField(
        rows=2,
        label="Reasoning prefix",
        help_text="The start of the model's chain of thought (DeepSeek thinking mode).",
    )
    speaker_name = forms.CharField(
        required=False,
        strip=False,
        max_length=schema.MAX_SPEAKER,
        label="Speaker name",
        help_text="Who speaks the prefix, for role-play (Moonshot's name field). Providers "
        "without it send the prefix alone and say so in their column.",
    )
    suffix = ExactTextField(
        rows=3,
        label="FIM suffix",
        help_text="Fill in the middle: the text after the gap. Models that can fill in the "
        "middle write what goes between the prefix and this; the others say why not.",
    )
    stop = StopField(label="Stop sequences")
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, min_value=1, max_value=schema.MAX_TOKENS)
    top_p = forms.FloatField(required=False, min_value=0, max_value=1, label="Top p")
    tools = ToolsField(label="Tools", help_text=TOOLS_HELP)
    tool_choice = forms.CharField(
        required=False,
        max_length=64,
        label="Tool choice",
        help_text=CHOICE_HELP,
        widget=forms.TextInput(attrs={"placeholder": "auto", "spellcheck": "false"}),
    )

    TEXTS = ("system", "prefix", "reasoning_prefix", "suffix")

    def clean_tool_choice(self) -> ToolChoice:
        return choice_from_text(str(self.cleaned_data.get("tool_choice") or ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        limits = budget()
        for name in self.TEXTS:
            problem = text_problem(data.get(name, ""), limits)
            if problem:
                self.add_error(name, problem)
        if any(char in data.get("speaker_name", "") for char in "\r\n"):
            self.add_error("speaker_name", "The speaker name must be one line.")
        choice = data.get("tool_choice")
        if isinstance(choice, ToolChoice) and "tools" in data:
            problem = choice_problem(choice, data["tools"])
            if problem:
                self.add_error("tool_choice", problem)
        return data


def prompt_initial(prompt: Prompt) -> dict[str, Any]:
    """Return PromptFields' initial values showing `prompt` (the form codec, one way)."""
    return {
        "system": prompt.system,
        "prefix": prompt.prefix,
        "reasoning_prefix": prompt.reasoning_prefix,
        "speaker_name": prompt.speaker_name,
        "suffix": prompt.suffix,
        "stop": stops_to_text(prompt.stop),
        "temperature": prompt.parameters.temperature,
        "max_tokens": prompt.parameters.max_tokens,
        "top_p": prompt.parameters.top_p,
        "tools": tools_to_text(prompt.tools),
        "tool_choice": choice_to_text(prompt.tool_choice),
    }


def turn_initial(turn: Turn) -> dict[str, str]:
    """Return a TurnForm's initial values showing `turn`."""
    return {"role": turn.role, "content": turn.content, "images": "\n".join(turn.images)}


def prompt_from_forms(
    fields: PromptFields, turns: Iterable[TurnForm], variables: Iterable[Variable] = ()
) -> Prompt:
    """Return the prompt the valid forms hold (the form codec, the other way)."""
    data = fields.cleaned_data
    return Prompt(
        system=data["system"],
        turns=tuple(form.turn() for form in turns),
        prefix=data["prefix"],
        reasoning_prefix=data["reasoning_prefix"],
        suffix=data["suffix"],
        stop=tuple(data["stop"]),
        parameters=Parameters(data["temperature"], data["max_tokens"], data["top_p"]),
        speaker_name=data["speaker_name"],
        variables=tuple(variables),
        tools=tuple(data["tools"]),
        tool_choice=data["tool_choice"],
    )


class LibraryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    category = forms.ChoiceField(required=False, choices=[("", "All categories")])
    visibility = forms.ChoiceField(required=False, choices=[("", "Any visibility")])
    team = forms.ChoiceField(required=False, choices=[("", "Any team")])
    tag = forms.CharField(required=False, max_length=schema.MAX_TAG)
    sort = forms.ChoiceField(required=False, choices=Sort.choices)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_choices(self, "category", Category.choices)
        add_choices(self, "visibility", Visibility.choices)
        self.teams = {str(team.code): team for team in Team.objects.for_user(user)}
        add_choices(self, "team", [(code, team.name) for code, team in self.teams.items()])

    def filters(self) -> dict[str, Any]:
        """Return the valid filters as keyword arguments for PrefixTemplateQuerySet.filtered."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "query": data.get("q", ""),
            "category": data.get("category", ""),
            "visibility": data.get("visibility", ""),
            "team": self.teams.get(data.get("team", "")),
            "tag": data.get("tag", ""),
            "sort": data.get("sort") or Sort.UPDATED,
        }


class TemplateForm(PromptFields):
    name = forms.CharField(max_length=schema.MAX_NAME)
    description = forms.CharField(
        required=False,
        max_length=schema.MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When to use it, which providers it suits.",
    )
    category = forms.ChoiceField(choices=Category.choices)
    tags = forms.CharField(
        required=False, max_length=600, help_text="Comma-separated, e.g. python, code."
    )
    visibility = forms.ChoiceField(choices=Visibility.choices)
    team = forms.ChoiceField(required=False, choices=[("", "No team")])

    def __init__(
        self, *args: Any, user: User, template: PrefixTemplate | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(memberships__user=user, memberships__role__in=EDITOR_ROLES)
        if template is not None and template.team is not None:
            teams = teams | Team.objects.filter(pk=template.team.pk)
        self.teams = {str(team.code): team for team in teams.distinct()}
        add_choices(self, "team", [(code, team.name) for code, team in self.teams.items()])
        if template is not None and not template.is_owned_by(user):
            # Who may see a template is its owner's decision, not a co-editor's.
            self.fields["visibility"].disabled = True
            self.fields["team"].disabled = True

    def clean_tags(self) -> list[str]:
        tags = [schema.normalise_tag(tag) for tag in self.cleaned_data["tags"].split(",")]
        tags = list(dict.fromkeys(tag for tag in tags if tag))
        if len(tags) > schema.MAX_TAGS:
            raise forms.ValidationError(f"At most {schema.MAX_TAGS} tags.")
        for tag in tags:
            if not schema.TAG_RE.fullmatch(tag):
                raise forms.ValidationError(f"“{tag}” is too long (at most {schema.MAX_TAG}).")
        return tags

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        visibility, team_code = data.get("visibility"), data.get("team") or ""
        if visibility == Visibility.TEAM and not team_code:
            self.add_error("team", "Choose the team to share this template with.")
        data["team"] = None if visibility == Visibility.PRIVATE else self.teams.get(team_code)
        return data


class TurnForm(forms.Form):
    """One turn before the prefix, on the editor and the compare page alike.

    `image_check` says why an image reference is unusable ("" when it is fine); without one the
    references are checked later (the editor's go through the exchange schema: https only).
    """

    role = forms.ChoiceField(choices=ROLE_CHOICES)
    content = ExactTextField(rows=3)
    images = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 1, "spellcheck": "false", "data-live": True}),
        help_text="User turns only: image URLs (https), one per line.",
    )

    def __init__(self, *args: Any, image_check: ImageCheck | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.image_check = image_check

    def clean_content(self) -> str:
        content = str(self.cleaned_data["content"])
        problem = text_problem(content, budget())
        if problem:
            raise forms.ValidationError(problem)
        return content

    def clean_images(self) -> list[str]:
        lines = str(self.cleaned_data["images"]).splitlines()
        urls = [line.strip() for line in lines if line.strip()]
        if len(urls) > schema.MAX_IMAGES:
            raise forms.ValidationError(f"A turn holds at most {schema.MAX_IMAGES} images.")
        for url in urls if self.image_check else ():
            problem = self.image_check(url) if self.image_check else ""
            if problem:
                raise forms.ValidationError(problem)
        return urls

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("images") and data.get("role") != "user":
            self.add_error("images", "Only user turns can hold images.")
        return data

    def is_blank(self) -> bool:
        """Return whether the (valid) turn holds neither text nor an image."""
        return not (self.cleaned_data.get("content") or self.cleaned_data.get("images"))

    def turn(self) -> Turn:
        """Return the (valid) turn."""
        data = self.cleaned_data
        role: Literal["user", "assistant"] = "assistant" if data["role"] == "assistant" else "user"
        return Turn(role, data["content"], tuple(data["images"]))


class TurnRows:
    """The turns of a prompt as numbered rows of TurnForm: the one turn set of both pages.

    Rows are read by their numbers (`turns-{N}-role`), whichever were posted and in order, so a
    page may add and remove rows without keeping a count in step; more than MAX_TURNS rows is
    an error of the whole set.
    """

    def __init__(self, forms: list[TurnForm]) -> None:
        self.forms = forms

    @classmethod
    def bound(cls, data: Mapping[str, Any], image_check: ImageCheck | None = None) -> TurnRows:
        """Return the rows posted in `data`, each a bound TurnForm."""
        indexes = row_indexes(data, TURN_PREFIX, "role")
        return cls(
            [
                TurnForm(data, prefix=f"{TURN_PREFIX}{index}", image_check=image_check)
                for index in indexes
            ]
        )

    @classmethod
    def showing(cls, turns: Iterable[Mapping[str, Any]]) -> TurnRows:
        """Return unbound rows showing `turns` (each a dict of TurnForm initial values)."""
        return cls(
            [
                TurnForm(prefix=f"{TURN_PREFIX}{index}", initial=dict(turn))
                for index, turn in enumerate(turns)
            ]
        )

    @staticmethod
    def new_row(index: int, role: str = "user") -> TurnForm:
        """Return an empty row `index` (the compare page's Add a turn)."""
        return TurnForm(prefix=f"{TURN_PREFIX}{index}", initial={"role": role})

    def __iter__(self) -> Iterator[TurnForm]:
        return iter(self.forms)

    def __len__(self) -> int:
        return len(self.forms)

    def non_form_errors(self) -> list[str]:
        """Return the problems of the set as a whole (too many turns)."""
        problem = turns_problem(len(self.forms), budget())
        return [problem] if problem else []

    def is_valid(self) -> bool:
        """Return whether every row and the set as a whole validate."""
        rows_ok = all([form.is_valid() for form in self.forms])  # noqa: C419 (every row, for its errors)
        return rows_ok and not self.non_form_errors()

    @property
    def total_error_count(self) -> int:
        return len(self.non_form_errors()) + sum(len(form.errors) for form in self.forms)

    def filled(self) -> list[TurnForm]:
        """Return the valid rows that hold text or an image (the editor drops blank ones)."""
        return [form for form in self.forms if form.is_valid() and not form.is_blank()]


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="A .json file exported from this site.")
    text = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        label="…or paste the JSON",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            limit = budget().import_bytes
            if upload.size > limit:
                raise forms.ValidationError(
                    f"The file is {upload.size / 1_048_576:.1f} MB; an import may be at most "
                    f"{limit / 1_048_576:g} MB (MAX_IMPORT_MB)."
                )
            try:
                data["json"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        elif data.get("text", "").strip():
            data["json"] = data["text"]
        else:
            raise forms.ValidationError("Choose a file or paste the JSON to import.")
        return data
