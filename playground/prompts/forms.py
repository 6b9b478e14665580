"""Forms for the library filters, the template editor and the import page. They only validate.

Whitespace rule: the prompt texts are stored exactly as typed. Nothing is stripped, and the only
change made is deliberate: browsers send line breaks as \r\n, which become \n.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.forms import formset_factory

from playground.accounts.models import Team, User

from . import schema
from .budget import Budget, from_settings
from .models import EDITOR_ROLES, Category, PrefixTemplate, Sort, Visibility

STOP_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}
STOP_ESCAPE_RE = re.compile(r"\\([nt\\])")


def budget() -> Budget:
    """Return the input budget configured in settings (docs/limits.md)."""
    return from_settings(settings)


def normalise_newlines(text: str) -> str:
    """Return `text` with \r\n and lone \r turned into \n (how browsers send textareas)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def encode_stops(stops: list[str]) -> str:
    """Return stop sequences as editor text: one per line, newline and tab written \\n, \\t."""
    return "\n".join(
        stop.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") for stop in stops
    )


def decode_stops(text: str) -> list[str]:
    """Return the stop sequences written one per line in `text` (empty lines are skipped)."""
    return [
        STOP_ESCAPE_RE.sub(lambda match: STOP_ESCAPES[match.group(1)], line)
        for line in normalise_newlines(text).split("\n")
        if line
    ]


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
        return normalise_newlines(super().to_python(value))


class LibraryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    category = forms.ChoiceField(required=False, choices=[("", "All categories")])
    visibility = forms.ChoiceField(required=False, choices=[("", "Any visibility")])
    team = forms.ChoiceField(required=False, choices=[("", "Any team")])
    tag = forms.CharField(required=False, max_length=schema.MAX_TAG)
    sort = forms.ChoiceField(required=False, choices=Sort.choices)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices += Category.choices
        self.fields["visibility"].choices += Visibility.choices
        self.teams = {str(team.code): team for team in Team.objects.for_user(user)}
        self.fields["team"].choices += [(code, team.name) for code, team in self.teams.items()]

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


class TemplateForm(forms.Form):
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
    system = ExactTextField(label="System prompt")
    prefix = ExactTextField(rows=5, label="Assistant prefix")
    reasoning_prefix = ExactTextField(
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
        label="FIM suffix",
        help_text="The text after the gap, for fill-in-the-middle completion.",
    )
    stop = ExactTextField(
        rows=3,
        label="Stop sequences",
        help_text=r"One per line, at most 16. Write a newline as \n, a tab as \t, "
        r"a backslash as \\.",
    )
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, min_value=1, max_value=schema.MAX_TOKENS)
    top_p = forms.FloatField(required=False, min_value=0, max_value=1, label="Top p")
    visibility = forms.ChoiceField(choices=Visibility.choices)
    team = forms.ChoiceField(required=False, choices=[("", "No team")])

    def __init__(
        self, *args: Any, user: User, template: PrefixTemplate | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(memberships__user=user, memberships__role__in=EDITOR_ROLES)
        if template is not None and template.team is not None:
            teams = teams | Team.objects.filter(pk=template.team_id)
        self.teams = {str(team.code): team for team in teams.distinct()}
        self.fields["team"].choices += [(code, team.name) for code, team in self.teams.items()]
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

    def clean_stop(self) -> list[str]:
        return decode_stops(self.cleaned_data["stop"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        visibility, team_code = data.get("visibility"), data.get("team") or ""
        if visibility == Visibility.TEAM and not team_code:
            self.add_error("team", "Choose the team to share this template with.")
        data["team"] = None if visibility == Visibility.PRIVATE else self.teams.get(team_code)
        return data


class TurnForm(forms.Form):
    role = forms.ChoiceField(choices=[("user", "User"), ("assistant", "Assistant")])
    content = ExactTextField(rows=3)
    images = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 1, "spellcheck": "false", "data-live": True}),
        help_text="User turns only: https image URLs, one per line.",
    )

    def clean_images(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["images"].splitlines() if line.strip()]


def turn_formset() -> type[forms.BaseFormSet]:
    """Return the editor's formset of turns, holding at most MAX_TURNS of them."""
    most = budget().turns
    return formset_factory(TurnForm, extra=0, max_num=most, absolute_max=most, validate_max=True)


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="A .json file exported from this site.")
    text = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        label="…or paste the JSON",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
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
