"""What the compare page shows: its first state (a template, a run, the last run) and a
submission shown again with its errors.

The prompt goes into the page through the form codec (playground/prompts/forms.py), from the
template's or the run's `Prompt`, so both sources fill the same fields the same way.
"""

from __future__ import annotations

import uuid
from typing import Any

from playground.accounts.models import User
from playground.htmx import AuthedRequest
from playground.keys.models import Credential
from playground.offline import offers_offline_demo
from playground.prompts.budget import small_int
from playground.prompts.forms import TurnRows, prompt_from_forms, prompt_initial, turn_initial
from playground.prompts.models import PrefixTemplate
from playground.prompts.variables import detect
from playground.providers.catalog import get_provider, providers
from playground.providers.prompt import Prompt, stops_to_text

from .forms import MAX_TARGETS, CompareSubmission, PromptForm, TargetForm
from .models import Run, RunColumn

DEFAULT_TARGETS = 3
FIRST_TEMPLATE = "code-fence-python"  # a starter-library key
OVERRIDE_FIELDS = ("temperature", "max_tokens", "thinking", "json_mode", "stop")


def parse_code(text: str | None) -> uuid.UUID | None:
    """Return `text` as a template's or a run's code, or None when it is not one."""
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def template_for(user: User, code: uuid.UUID | str | None) -> PrefixTemplate | None:
    """Return the template `code` if `user` may see it, else None."""
    if isinstance(code, str):
        code = parse_code(code)
    if code is None:
        return None
    return PrefixTemplate.objects.visible_to(user).filter(code=code).first()


def submitted_prompt(submission: CompareSubmission) -> Prompt | None:
    """Return the submitted prompt as written (variables unfilled), if its forms are valid."""
    if not submission.prompt.is_valid() or not all(t.is_valid() for t in submission.turns):
        return None
    return prompt_from_forms(submission.prompt, submission.turns)


def suggested_model(provider_id: str) -> str:
    """Return the catalog's first suggested model for a provider, or ""."""
    try:
        models = get_provider(provider_id).models
    except KeyError:
        return ""
    return models[0].id if models else ""


def _targets_of(run: Run) -> list[dict[str, Any]]:
    """Return the form rows of a run's targets whose keys still exist."""
    columns = run.columns.select_related("credential").order_by("position")
    return [
        {"credential": column.credential.code, "model": column.model, **column.overrides}
        for column in columns
        if column.credential is not None
    ]


def _default_targets(user: User) -> list[dict[str, Any]]:
    """Return one target per key (up to three), each with the catalog's suggested model."""
    credentials = Credential.objects.for_user(user)[:DEFAULT_TARGETS]
    return [{"credential": c.code, "model": suggested_model(c.provider)} for c in credentials]


def _without_overrides(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: row[key] for key in ("credential", "model")} for row in targets]


def _overridden_rows(targets: list[dict[str, Any]]) -> int:
    """Return how many target rows carry an override (the page names each one as a chip)."""
    return sum(
        1
        for row in targets
        if any(row.get(key) not in (None, "", [], False) for key in OVERRIDE_FIELDS)
    )


def _target_forms(user: User, targets: list[dict[str, Any]]) -> list[TargetForm]:
    rows = [
        {**row, "stop": stops_to_text(row["stop"])} if row.get("stop") else row
        for row in targets or [{}]
    ]
    return [
        TargetForm(prefix=f"t{index}", initial=initial, user=user)
        for index, initial in enumerate(rows)
    ]


def _used_column(run: Run | None, position: str | None) -> RunColumn | None:
    number = small_int(position)
    if run is None or number is None:
        return None
    return (
        RunColumn.objects.filter(run=run, position=number)
        .prefetch_related("segments")
        .select_related("run")
        .first()
    )


def initial_context(request: AuthedRequest) -> dict[str, Any]:
    """Return the compare page's first state: from ?template=, from ?run=, or the last run.

    A return visit restores the last run whole, prompt and targets with their overrides, and
    the page says so (a banner, a chip per override); `?blank=1` starts from an empty prompt
    with the last run's keys and models but none of its overrides.
    """
    user = request.user
    template = template_for(user, request.GET.get("template"))
    last = Run.objects.for_user(user).first()
    run: Run | None = None
    source = None
    if template is None and not request.GET and last is None:
        # A first visit starts from a ready example rather than an empty form.
        template = PrefixTemplate.objects.visible_to(user).filter(key=FIRST_TEMPLATE).first()
    if template is None and request.GET.get("run"):
        code = parse_code(request.GET["run"])
        run = Run.objects.for_user(user).filter(code=code).first() if code else None
        source = "run" if run is not None else None
    elif template is None and not request.GET and last is not None:
        run, source = last, "last"
    shown = template or (run.template if run else None)
    prompt = template.prompt if template else (run.prompt if run else Prompt())
    initial: dict[str, Any] = {"template": shown.code if shown else None, **prompt_initial(prompt)}
    initial["blind"] = bool(request.session.get("compare_blind", False))
    if run is not None:
        targets = _targets_of(run)
        if run.hides_names_from(user.pk):
            # A blind run's column positions are random; listing its targets in that order
            # would say which column is which (docs/verdicts.md).
            targets.sort(key=lambda row: (str(row["credential"]), str(row["model"])))
    else:
        targets = _without_overrides(_targets_of(last)) if last is not None else []
    targets = targets or _default_targets(user)
    values = dict(run.variables) if run else {}
    used = _used_column(run, request.GET.get("use"))
    if used is not None:
        # "Use as prefix": the column's full text becomes the new prefix.
        initial["prefix"] = used.full_text
    return _page_context(
        user,
        template=shown,
        prompt=PromptForm(initial=initial),
        turns=TurnRows.showing(turn_initial(turn) for turn in prompt.turns),
        targets=_target_forms(user, targets),
        variables=[(variable, values.get(variable.name, "")) for variable in prompt.variables],
        source_run=run,
        source=source,
        overridden_rows=_overridden_rows(targets) if run is not None else 0,
    )


def form_context(
    request: AuthedRequest, submission: CompareSubmission, errors: list[str]
) -> dict[str, Any]:
    """Return the compare form's context for re-rendering a submission, with its errors."""
    user = request.user
    template = template_for(user, request.POST.get("template"))
    known = template.variables() if template else []
    prompt = submitted_prompt(submission)
    variables = detect(prompt, known) if prompt else known
    return _page_context(
        user,
        template=template,
        prompt=submission.prompt,
        turns=submission.turns,
        targets=submission.targets,
        variables=[(v, submission.variables.get(v.name, "")) for v in variables],
        errors=errors + submission.errors,
    )


def _page_context(user: User, **parts: Any) -> dict[str, Any]:
    credentials = list(Credential.objects.usable_by(user))
    provider_ids = {credential.provider for credential in credentials}
    return {
        **parts,
        "credentials": credentials,
        "model_lists": [p for p in providers() if p.id in provider_ids],
        "templates": PrefixTemplate.objects.visible_to(user).only("code", "name", "category")[:500],
        "max_targets": MAX_TARGETS,
        "offline_demo": offers_offline_demo(),
    }
