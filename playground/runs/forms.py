"""The compare form: a prompt (ad hoc or from a template), its variables, and 1–6 targets.

The prompt's fields and its turns are the shared ones (playground/prompts/forms.py), so the
compare page reads a prompt exactly as the template editor does. Turns and targets are numbered
rows (`turns-3-content`, `t2-model`) that htmx adds and removes in the page; the server reads
whichever rows were posted, in order, so no management form has to be kept in step with the DOM.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict

from playground.accounts.models import User
from playground.keys.models import Credential, CredentialQuerySet
from playground.prompts import schema
from playground.prompts.forms import PromptFields, StopField, TurnRows, row_indexes
from playground.providers.prompt import STOP_HELP

from .models import UPLOAD_SCHEME

MAX_TARGETS = 6
THINKING_CHOICES = [("", "Default"), ("off", "Off"), ("on", "On")]


def image_problem(url: str) -> str:
    """Return why `url` cannot be a turn's image on the compare page, or ""."""
    if url.startswith(UPLOAD_SCHEME):
        try:
            uuid.UUID(url.removeprefix(UPLOAD_SCHEME))
        except ValueError:
            return f"Not an uploaded image: {url[:60]}"
        return ""
    if url.startswith("data:image/"):
        # base64 is 4/3 of the bytes; an inline image is held to the upload limit.
        if len(url) > settings.MAX_IMAGE_UPLOAD_BYTES * 4 // 3 + 100:
            return "This inline image is larger than the upload limit (MAX_IMAGE_UPLOAD_MB)."
        return ""
    if url.startswith("https://"):
        if len(url) > schema.MAX_URL:
            return f"An image URL is at most {schema.MAX_URL} characters."
        return ""
    return f"Not an image URL (https://…, or an upload): {url[:60]}"


class PromptForm(PromptFields):
    """The prompt's fields, and the template it came from (if any)."""

    template = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # Blind mode: the run hides provider and model names until your verdict (docs/verdicts.md).
    blind = forms.BooleanField(required=False)

    # The compare page is a side panel: shorter boxes than the editor's (they grow as typed).
    ROWS = {"system": 2, "prefix": 4, "reasoning_prefix": 2, "suffix": 3, "stop": 2}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, rows in self.ROWS.items():
            self.fields[name].widget.attrs["rows"] = rows


class CredentialField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A key chosen by its code; with `known` set, looked up there instead of by a query.

    A run's targets each name a key: `bind_submission` loads every posted one in one query
    (the same `usable_by` queryset) rather than one query per target row.
    """

    known: dict[str, Credential] | None = None

    def to_python(self, value: Any) -> Credential | None:
        if self.known is None or value in self.empty_values:
            return cast("Credential | None", super().to_python(value))
        try:
            found = self.known.get(str(uuid.UUID(str(value))))
        except ValueError:
            found = None
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return found


class TargetForm(forms.Form):
    credential = CredentialField(
        queryset=Credential.objects.none(), to_field_name="code", empty_label="Choose a key…"
    )
    model = forms.CharField(max_length=200)
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, min_value=1, max_value=schema.MAX_TOKENS)
    thinking = forms.ChoiceField(required=False, choices=THINKING_CHOICES)
    stop = StopField(label="Stop", help_text=f"Stop sequences for this target only. {STOP_HELP}")
    json_mode = forms.BooleanField(
        required=False,
        label="JSON mode",
        help_text='Ask for response_format {"type": "json_object"} where the provider has it.',
    )

    def __init__(
        self, *args: Any, user: User, usable: CredentialQuerySet | None = None, **kwargs: Any
    ) -> None:
        """`usable`: the user's `Credential.objects.usable_by(user)`, when the caller has it."""
        super().__init__(*args, **kwargs)
        field = cast(
            "forms.ModelChoiceField[Credential]", self.fields["credential"]
        )  # declared above
        field.queryset = usable if usable is not None else Credential.objects.usable_by(user)

    def clean_model(self) -> str:
        return str(self.cleaned_data["model"]).strip()


@dataclass
class CompareSubmission:
    """A posted compare form, split into its parts, each bound."""

    prompt: PromptForm
    turns: TurnRows
    targets: list[TargetForm]
    variables: dict[str, str]

    def is_valid(self) -> bool:
        results = [self.prompt.is_valid(), self.turns.is_valid()]
        results += [form.is_valid() for form in self.targets]
        return all(results) and not self.errors

    @property
    def errors(self) -> list[str]:
        """Return the form-wide problems (not tied to one field)."""
        problems = []
        prompt = self.prompt.cleaned_data if self.prompt.is_valid() else {}
        has_turn = any(
            form.is_valid() and form.cleaned_data["content"].strip() for form in self.turns
        )
        if prompt and not prompt.get("prefix") and not has_turn:
            problems.append("Write a prefix or at least one message for the model to answer.")
        if not self.targets:
            problems.append("Add at least one target: a key and a model.")
        if len(self.targets) > MAX_TARGETS:
            problems.append(f"A run compares at most {MAX_TARGETS} targets.")
        return problems + self.turns.non_form_errors()


def bind_submission(data: QueryDict, user: User) -> CompareSubmission:
    """Return the compare form posted in `data`, with one bound form per posted row."""
    usable = Credential.objects.usable_by(user)
    targets = [
        TargetForm(data, prefix=f"t{index}", user=user, usable=usable)
        for index in row_indexes(data, "t", "credential")
    ]
    codes = set()
    for form in targets[:MAX_TARGETS]:
        try:
            codes.add(uuid.UUID(str(data.get(f"{form.prefix}-credential", ""))))
        except ValueError:
            continue
    known = {str(credential.code): credential for credential in usable.filter(code__in=codes)}
    for form in targets[:MAX_TARGETS]:  # past that the submission is refused anyway
        cast("CredentialField", form.fields["credential"]).known = known
    variables = {
        key.removeprefix("var-"): value
        for key, value in data.items()
        if key.startswith("var-") and isinstance(value, str)
    }
    turns = TurnRows.bound(data, image_check=image_problem)
    return CompareSubmission(PromptForm(data), turns, targets, variables)


class ImageUploadForm(forms.Form):
    image = forms.FileField()
