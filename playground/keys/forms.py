"""Forms of the key vault. They validate; the model encrypts.

The API key field is a password input that is never rendered with a value, so a failed
submission sends every other field back as typed and the key field empty.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from playground import offline
from playground.providers.catalog import provider_choices
from playground.providers.urlpolicy import UnsafeBaseURL, check_base_url

from .models import Credential, base_url_shape_problem, catalog_entry, dialect_choices

KEY_MIN_LENGTH = 8
KEY_MAX_LENGTH = 1000


class ApiKeyField(forms.CharField):
    """A pasted API key: trimmed, one line, no spaces. Its messages never quote the value."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "API key")
        super().__init__(
            max_length=KEY_MAX_LENGTH,
            widget=forms.PasswordInput(
                attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
            ),
            error_messages={
                "required": "Paste the API key from your provider's console.",
                "max_length": "That is too long to be an API key; check what was pasted.",
            },
            **kwargs,
        )

    @sensitive_variables("value")
    def validate(self, value: str) -> None:
        super().validate(value)
        if any(char.isspace() for char in value):
            raise forms.ValidationError(
                "An API key is a single line without spaces; check what was pasted.",
                code="whitespace",
            )
        if len(value) < KEY_MIN_LENGTH:
            raise forms.ValidationError(
                f"An API key has at least {KEY_MIN_LENGTH} characters.", code="too_short"
            )


def key_dropped(form: forms.BaseForm) -> bool:
    """Return whether `form` failed after a key was typed, which the page must then ask again."""
    return form.is_bound and bool(form.errors) and bool(form.data.get("api_key", "").strip())


class _EndpointForm(forms.ModelForm[Credential]):
    """A credential form with the base URL and dialect fields (see _fit_endpoint_fields)."""

    base_url_suggestions: list[tuple[str, str]]
    datalist_id: str


def _fit_endpoint_fields(form: _EndpointForm, provider_id: str, datalist_id: str) -> None:
    """Shape the base URL and dialect fields for `provider_id` (its default, its dialects)."""
    provider = catalog_entry(provider_id)
    base_url = form.fields["base_url"]
    base_url.widget.attrs.update({"spellcheck": "false", "autocapitalize": "off"})
    # Regions and alternative hosts from the catalog, offered as suggestions.
    form.base_url_suggestions = list(provider.base_urls if provider else ())
    form.datalist_id = datalist_id
    if form.base_url_suggestions:
        base_url.widget.attrs["list"] = datalist_id
    if provider and provider.default_base_url:
        base_url.widget.attrs["placeholder"] = provider.default_base_url
        base_url.help_text = "Optional: leave empty for the default shown, or enter a proxy."
        if len(form.base_url_suggestions) > 1:
            regions = ", ".join(label for label, _url in form.base_url_suggestions)
            base_url.help_text = (
                f"Optional: leave empty for the default shown, or pick a region: {regions}."
            )
    else:
        base_url.required = True
        base_url.error_messages["required"] = "This endpoint has no default: enter its base URL."
        base_url.widget.attrs["placeholder"] = "https://llm.example.com/v1"
        base_url.help_text = "The URL that /chat/completions is appended to."
    choices = dialect_choices(provider_id)
    if choices:
        form.fields["dialect"] = forms.ChoiceField(
            label="Dialect",
            choices=choices,
            help_text="How this endpoint takes an assistant prefix.",
            error_messages={"required": "Choose how this endpoint takes a prefix."},
        )
    else:
        del form.fields["dialect"]


def _clean_base_url(form: forms.BaseForm) -> str:
    url: str = form.cleaned_data.get("base_url", "").strip().rstrip("/")
    if not url:
        return ""
    if settings.DEMO_MODE and offline.is_in_process_simulator(url):
        return url  # answered in this process (demo mode): no network, nothing to check
    shape = base_url_shape_problem(url)
    if shape:
        raise forms.ValidationError(shape, code="invalid")
    try:
        check_base_url(url, allow_private=settings.ALLOW_PRIVATE_BASE_URLS)
    except ValueError as exc:  # UnsafeBaseURL, or a URL too broken to parse
        if "@" in url or "?" in url:
            # A refused URL may carry a secret (a key pasted into it): never echo it back.
            # request.POST (a QueryDict, whose copy keeps every value of a key) or a dict.
            data = form.data.copy() if isinstance(form.data, dict) else dict(form.data)
            data["base_url"] = ""
            form.data = data
        if isinstance(exc, UnsafeBaseURL):
            raise forms.ValidationError(str(exc), code="unsafe") from None
        # Parser messages can quote the URL, so they are not shown.
        raise forms.ValidationError(
            "Enter a valid URL, such as https://llm.example.com/v1.", code="invalid"
        ) from None
    return url


class CredentialForm(_EndpointForm):
    """Add a credential: provider, label, key, and where its requests go."""

    provider = forms.ChoiceField(label="Provider", choices=provider_choices)
    api_key = ApiKeyField()

    class Meta:
        model = Credential
        fields = ["provider", "label", "base_url", "dialect"]
        widgets = {"label": forms.TextInput(attrs={"placeholder": "e.g. Personal, Team budget"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalog_provider = catalog_entry(self.provider_id)
        _fit_endpoint_fields(self, self.provider_id, "base-url-suggestions")

    @property
    def provider_id(self) -> str:
        """Return the chosen provider's id (the first provider when none or an unknown one)."""
        source = self.data if self.is_bound else self.initial
        value: str = source.get("provider") or ""
        ids = [provider_id for provider_id, _name in provider_choices()]
        return value if value in ids else ids[0]

    def clean_base_url(self) -> str:
        return _clean_base_url(self)

    @property
    def key_dropped(self) -> bool:
        """Return whether the typed key was dropped because the form came back with errors."""
        return key_dropped(self)


class RenameForm(forms.ModelForm[Credential]):
    class Meta:
        model = Credential
        fields = ["label"]


class EndpointForm(_EndpointForm):
    """Change where an existing credential's requests go; its provider stays."""

    class Meta:
        model = Credential
        fields = ["base_url", "dialect"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalog_provider = catalog_entry(self.instance.provider)
        _fit_endpoint_fields(
            self, self.instance.provider, f"base-url-suggestions-{self.instance.code}"
        )

    def clean_base_url(self) -> str:
        return _clean_base_url(self)


class ReplaceKeyForm(forms.ModelForm[Credential]):
    """Replace a credential's key; nothing else changes."""

    api_key = ApiKeyField(label="New API key")

    class Meta:
        model = Credential
        fields: list[str] = []

    @sensitive_variables("plaintext")
    def save(self, commit: bool = True) -> Credential:
        plaintext = self.cleaned_data["api_key"]
        self.instance.set_key(plaintext)
        return super().save(commit)

    @property
    def key_dropped(self) -> bool:
        """Return whether the typed key was dropped because the form came back with errors."""
        return key_dropped(self)


class ProbeForm(forms.Form):
    """Which model to probe: any id, the catalog's being only suggestions."""

    model = forms.CharField(
        max_length=200,
        error_messages={
            "required": "Enter the model to probe.",
            "max_length": "That is too long to be a model id.",
        },
    )

    def clean_model(self) -> str:
        model: str = self.cleaned_data["model"]
        if any(char.isspace() for char in model):
            raise forms.ValidationError("A model id has no spaces.", code="whitespace")
        return model
