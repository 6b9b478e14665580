"""Forms of the batch pages: an input set (paste, upload or edit), and a batch to start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.conf import settings

from playground.keys.models import Credential
from playground.prompts.budget import from_settings
from playground.prompts.models import PrefixTemplate
from playground.runs.tool_preflight import tool_refusals

from . import checks as checks_module
from .cells import row_problem
from .models import MAX_TARGETS
from .tables import Table, TableError, TableLimits, read_delimited, read_upload

CHECK_ROWS = 4
ROW_PROBLEMS_SHOWN = 5


def table_limits() -> TableLimits:
    return TableLimits(
        rows=settings.BATCH_MAX_ROWS,
        columns=settings.BATCH_MAX_COLUMNS,
        value_chars=settings.BATCH_MAX_VALUE_CHARS,
    )


class InputSetForm(forms.Form):
    name = forms.CharField(max_length=120)
    table = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text="Paste CSV or TSV: the first line names the columns, one per variable.",
    )
    upload = forms.FileField(
        required=False, help_text="Or upload a .csv, .tsv or .jsonl file (our exports too)."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload, text = data.get("upload"), data.get("table") or ""
        limit_mb = settings.MAX_IMPORT_MB
        try:
            if upload is not None:
                if upload.size > limit_mb * 1_048_576:
                    raise TableError(
                        f"The file is {upload.size / 1_048_576:.1f} MB; an input set file may "
                        f"be at most {limit_mb} MB (MAX_IMPORT_MB)."
                    )
                data["parsed"] = read_upload(str(upload.name), upload.read(), table_limits())
            elif text.strip():
                data["parsed"] = read_delimited(text, table_limits())
            else:
                raise TableError("Paste a table or choose a file.")
        except TableError as error:
            self.add_error("upload" if upload is not None else "table", str(error))
        return data


@dataclass
class ColumnReport:
    """How a table's columns meet a template's variables, shown before anything runs."""

    unknown: list[str] = field(default_factory=list)  # columns the template does not use
    missing: list[str] = field(default_factory=list)  # variables without default, no column
    defaulted: list[str] = field(default_factory=list)  # variables left to their default

    @property
    def ok(self) -> bool:
        return not self.missing


def column_report(template: PrefixTemplate | Any, columns: list[str]) -> ColumnReport:
    variables = template.variables()
    names = {v.name for v in variables}
    report = ColumnReport(unknown=[c for c in columns if c not in names])
    for variable in variables:
        if variable.name in columns:
            continue
        (report.defaulted if variable.default is not None else report.missing).append(variable.name)
    return report


class TargetRow(forms.Form):
    credential = forms.ChoiceField(required=False)
    model = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, credentials: list[Credential], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credentials = {str(c.code): c for c in credentials}
        choices = [("", "—")] + [
            (str(c.code), f"{c.label} ({c.provider_name})") for c in credentials
        ]
        cast(forms.ChoiceField, self.fields["credential"]).choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code, model = data.get("credential"), (data.get("model") or "").strip()
        if code and not model:
            self.add_error("model", "Name the model for this key.")
        if model and not code:
            self.add_error("credential", "Choose a key for this model.")
        if code:
            credential = self.credentials[code]
            problem = credential.base_url_problem()
            if problem:
                self.add_error("credential", problem)
            data["resolved"] = credential
        data["model"] = model
        return data


class CheckRow(forms.Form):
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "—")] + [(str(k), v) for k, v in checks_module.LABELS.items()],
    )
    value = forms.CharField(required=False, strip=False, max_length=checks_module.MAX_VALUE_CHARS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind"):
            try:
                data["check"] = checks_module.parse_check(data["kind"], data.get("value") or "")
            except checks_module.CheckError as error:
                self.add_error("value", str(error))
        return data


@dataclass
class BatchSubmission:
    targets: list[TargetRow]
    checks: list[CheckRow]
    errors: list[str] = field(default_factory=list)

    def is_valid(self) -> bool:
        valid = all(f.is_valid() for f in self.targets) and all(f.is_valid() for f in self.checks)
        return valid and not self.errors

    def target_specs(self) -> list[dict[str, Any]]:
        return [
            {"credential": f.cleaned_data["resolved"], "model": f.cleaned_data["model"]}
            for f in self.targets
            if f.cleaned_data.get("resolved") is not None
        ]

    def check_specs(self) -> list[dict[str, str]]:
        return [f.cleaned_data["check"].as_dict() for f in self.checks if "check" in f.cleaned_data]


def batch_submission(
    data: Any, user: Any, initial: list[dict[str, str]] | None = None
) -> BatchSubmission:
    credentials = list(Credential.objects.for_user(user))
    targets = [
        TargetRow(
            data,
            prefix=f"t{index}",
            credentials=credentials,
            initial=(initial[index] if initial and index < len(initial) else None),
        )
        for index in range(MAX_TARGETS)
    ]
    checks = [CheckRow(data, prefix=f"c{index}") for index in range(CHECK_ROWS)]
    return BatchSubmission(targets, checks)


def validate_batch(
    submission: BatchSubmission, template: PrefixTemplate, table: Table
) -> BatchSubmission:
    """Add the errors that stop a batch: no target, missing columns, rows over the budget."""
    if not submission.is_valid():
        submission.errors.append("Some fields need attention; see the messages below.")
        return submission
    if not submission.target_specs():
        submission.errors.append("Choose at least one target (a key and a model).")
    report = column_report(template, table.columns)
    if report.missing:
        submission.errors.append(
            "The input set has no column for "
            + ", ".join(report.missing)
            + " (variables without a default)."
        )
        return submission
    budget = from_settings(settings)
    content = template.content()
    problems = []
    for number, values in enumerate(table.as_dicts(), start=1):
        problem = row_problem(content, values, budget)
        if problem:
            problems.append(f"Row {number}: {problem}")
    if problems:
        more = len(problems) - ROW_PROBLEMS_SHOWN
        submission.errors.extend(problems[:ROW_PROBLEMS_SHOWN])
        if more > 0:
            submission.errors.append(f"… and {more} more rows.")
    # What the template's tools cannot do on a target, refused before any cell is sent.
    submission.errors.extend(tool_refusals(template.prompt, submission.target_specs()))
    return submission
