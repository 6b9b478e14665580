"""The compare form: a prompt (ad hoc or from a template), its variables, and 1–6 targets.

Turns and targets are numbered rows (`turn3-content`, `t2-model`) that htmx adds and removes
in the page; the server reads whichever rows were posted, in order, so no management form
has to be kept in step with the DOM.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.http import QueryDict

from playground.keys.models import Credential
from playground.prompts import schema
from playground.prompts.budget import Budget, from_settings, too_long

from .models import UPLOAD_SCHEME

MAX_TARGETS = 6
THINKING_CHOICES = [("", "Default"), ("off", "Off"), ("on", "On")]


def parse_stop(text: str) -> list[str]:
    r"""Return stop sequences from one-per-line text, reading `\n` and `\t` as those characters."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line != ""]
    return [line.replace("\\n", "\n").replace("\\t", "\t") for line in lines]


def format_stop(stops: list[str]) -> str:
    r"""Return stop sequences as one-per-line text, writing newlines and tabs as `\n` and `\t`."""
    return "\n".join(stop.replace("\n", "\\n").replace("\t", "\\t") for stop in stops)


def budget() -> Budget:
    """Return the input budget configured in settings (docs/limits.md)."""
    return from_settings(settings)


def stop_problem(stops: list[str], limits: Budget) -> str:
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


def text_problem(text: str, limits: Budget) -> str:
    """Return why one text of a prompt is over the budget, or ""."""
    if len(text) > limits.text_chars:
        return too_long("This text", len(text), limits.text_chars, "MAX_TEXT_CHARS")
    return ""


def image_problem(url: str) -> str:
    """Return why `url` cannot be a turn's image, or ""."""
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


def row_indexes(data: QueryDict, prefix: str, field: str) -> list[int]:
    """Return the row numbers posted for `prefix{N}-{field}`, in ascending order."""
    # At most four ASCII digits: a row number, never a 5,000-digit one int() would refuse.
    pattern = re.compile(rf"^{re.escape(prefix)}(\d{{1,4}})-{re.escape(field)}$", re.ASCII)
    found = {int(match.group(1)) for key in data if (match := pattern.match(key))}
    return sorted(found)


class PromptForm(forms.Form):
    template = forms.UUIDField(required=False, widget=forms.HiddenInput)
    system = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2}))
    prefix = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="The start of the assistant's reply. Whitespace counts: a trailing space or "
        "newline changes what the model writes.",
    )
    reasoning_prefix = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    speaker_name = forms.CharField(
        required=False,
        strip=False,
        max_length=64,
        help_text="Who speaks the prefix, for role-play. Sent as Moonshot's name field; the "
        "other providers send the prefix alone and say so in their column.",
    )
    suffix = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="Fill in the middle: the text that comes after the gap. Models that can fill "
        "in the middle write what goes between the prefix and this; the others say why not.",
    )
    stop = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=r"One per line; write \n for a newline.",
    )
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    top_p = forms.FloatField(required=False, min_value=0, max_value=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        limits = budget()
        for name in ("system", "prefix", "reasoning_prefix", "suffix"):
            if name in data:
                data[name] = data[name].replace("\r\n", "\n")
                problem = text_problem(data[name], limits)
                if problem:
                    self.add_error(name, problem)
        data["stop"] = parse_stop(data.get("stop") or "")
        problem = stop_problem(data["stop"], limits)
        if problem:
            self.add_error("stop", problem)
        if any(char in data.get("speaker_name", "") for char in "\r\n"):
            self.add_error("speaker_name", "The speaker name must be one line.")
        return data


class TurnForm(forms.Form):
    role = forms.ChoiceField(choices=[("user", "User"), ("assistant", "Assistant")])
    content = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2}))
    images = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 1}),
        help_text="Image URLs (https), one per line, or upload one (vision models).",
    )

    def clean_content(self) -> str:
        content = str(self.cleaned_data["content"]).replace("\r\n", "\n")
        problem = text_problem(content, budget())
        if problem:
            raise forms.ValidationError(problem)
        return content

    def clean_images(self) -> list[str]:
        urls = [line.strip() for line in str(self.cleaned_data["images"]).splitlines()]
        urls = [url for url in urls if url]
        if len(urls) > schema.MAX_IMAGES:
            raise forms.ValidationError(f"A turn holds at most {schema.MAX_IMAGES} images.")
        for url in urls:
            problem = image_problem(url)
            if problem:
                raise forms.ValidationError(problem)
        return urls

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("images") and data.get("role") != "user":
            self.add_error("images", "Only user turns can hold images.")
        return data


class TargetForm(forms.Form):
    credential = forms.ModelChoiceField(
        queryset=Credential.objects.none(), to_field_name="code", empty_label="Choose a key…"
    )
    model = forms.CharField(max_length=200)
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    thinking = forms.ChoiceField(required=False, choices=THINKING_CHOICES)
    stop = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 1, "spellcheck": "false"}),
        help_text=r"Stop sequences for this target only, one per line (\n for a newline).",
    )
    json_mode = forms.BooleanField(
        required=False,
        label="JSON mode",
        help_text='Ask for response_format {"type": "json_object"} where the provider has it.',
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["credential"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Credential.objects.usable_by(user)

    def clean_model(self) -> str:
        return str(self.cleaned_data["model"]).strip()

    def clean_stop(self) -> list[str]:
        stops = parse_stop(str(self.cleaned_data.get("stop") or ""))
        problem = stop_problem(stops, budget())
        if problem:
            raise forms.ValidationError(problem)
        return stops


@dataclass
class CompareSubmission:
    """A posted compare form, split into its parts, each a bound form."""

    prompt: PromptForm
    turns: list[TurnForm]
    targets: list[TargetForm]
    variables: dict[str, str]

    def is_valid(self) -> bool:
        results = [self.prompt.is_valid()]
        results += [form.is_valid() for form in self.turns]
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
        turns = budget().turns
        if len(self.turns) > turns:
            problems.append(f"A prompt holds at most {turns} turns (MAX_TURNS).")
        return problems


def bind_submission(data: QueryDict, user: Any) -> CompareSubmission:
    """Return the compare form posted in `data`, with one bound form per posted row."""
    turns = [TurnForm(data, prefix=f"turn{index}") for index in row_indexes(data, "turn", "role")]
    targets = [
        TargetForm(data, prefix=f"t{index}", user=user)
        for index in row_indexes(data, "t", "credential")
    ]
    variables = {
        key.removeprefix("var-"): value
        for key, value in data.items()
        if key.startswith("var-") and isinstance(value, str)
    }
    return CompareSubmission(PromptForm(data), turns, targets, variables)


class ImageUploadForm(forms.Form):
    image = forms.FileField()
