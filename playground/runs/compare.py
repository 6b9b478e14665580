"""What the compare page shows and does: its initial state, starting a run, replay, history.

Kept apart from views.py so each view stays a few lines: parse, act, render.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.template.loader import render_to_string

from playground.keys.models import Credential
from playground.keys.offline import offers_offline_demo
from playground.prompts.budget import Budget, small_int, too_long
from playground.prompts.models import PrefixTemplate
from playground.prompts.variables import (
    MissingVariables,
    RenderedPrompt,
    Turn,
    Variable,
    find_names,
    rendered_size,
    texts_of,
)
from playground.prompts.variables import detect as detect_variables
from playground.prompts.variables import render as render_variables
from playground.providers.catalog import get_provider, providers

from . import relay
from .forms import (
    CompareSubmission,
    PromptForm,
    TargetForm,
    TurnForm,
    budget,
    format_stop,
    text_problem,
)
from .models import Run, RunColumn, RunLimitReached, summarize
from .templatetags.run_tags import segment_metrics

DEFAULT_TARGETS = 3
FIRST_TEMPLATE = "code-fence-python"  # a starter-library key


@dataclass
class StartResult:
    run: Run | None = None
    errors: list[str] = field(default_factory=list)


def _template_for(request: HttpRequest, code: str | None) -> PrefixTemplate | None:
    if not code:
        return None
    try:
        return PrefixTemplate.objects.visible_to(request.user).filter(code=code).first()
    except Exception:  # a malformed UUID in the query string: start blank
        return None


def _turn_forms(turns: list[dict[str, Any]] | tuple[Turn, ...]) -> list[TurnForm]:
    forms = []
    for index, turn in enumerate(turns):
        role, content, images = (
            (turn.role, turn.content, turn.images)
            if isinstance(turn, Turn)
            else (turn["role"], turn["content"], turn.get("images", ()))
        )
        initial = {"role": role, "content": content, "images": "\n".join(images)}
        forms.append(TurnForm(prefix=f"turn{index}", initial=initial))
    return forms


def _targets_of(run: Run) -> list[dict[str, Any]]:
    """Return the form rows of a run's targets whose keys still exist."""
    columns = run.columns.select_related("credential").order_by("position")
    return [
        {"credential": column.credential.code, "model": column.model, **column.overrides}
        for column in columns
        if column.credential is not None
    ]


def _default_targets(user: Any) -> list[dict[str, Any]]:
    """Return one target per key (up to three), each with the catalog's suggested model."""
    credentials = Credential.objects.for_user(user)[:DEFAULT_TARGETS]
    return [{"credential": c.code, "model": suggested_model(c.provider)} for c in credentials]


OVERRIDE_FIELDS = ("temperature", "max_tokens", "thinking", "json_mode", "stop")


def _without_overrides(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: row[key] for key in ("credential", "model")} for row in targets]


def _overridden_rows(targets: list[dict[str, Any]]) -> int:
    """Return how many target rows carry an override (the page names each one as a chip)."""
    return sum(
        1
        for row in targets
        if any(row.get(key) not in (None, "", [], False) for key in OVERRIDE_FIELDS)
    )


def suggested_model(provider_id: str) -> str:
    """Return the catalog's first suggested model for a provider, or ""."""
    try:
        models = get_provider(provider_id).models
    except KeyError:
        return ""
    return models[0].id if models else ""


def _target_forms(user: Any, targets: list[dict[str, Any]]) -> list[TargetForm]:
    rows = [
        {**row, "stop": format_stop(row["stop"])} if row.get("stop") else row
        for row in targets or [{}]
    ]
    return [
        TargetForm(prefix=f"t{index}", initial=initial, user=user)
        for index, initial in enumerate(rows)
    ]


def _prompt_initial(template: PrefixTemplate | None, run: Run | None) -> dict[str, Any]:
    source: Any = template.raw_prompt() if template else None
    if source is not None:
        return {
            "template": template.code if template else None,
            "system": source.system,
            "prefix": source.prefix,
            "reasoning_prefix": source.reasoning_prefix,
            "speaker_name": source.speaker_name,
            "suffix": source.suffix or "",
            "stop": format_stop(list(source.stop)),
            "temperature": source.temperature,
            "max_tokens": source.max_tokens,
            "top_p": source.top_p,
        }
    if run is not None:
        return {
            "template": run.template.code if run.template else None,
            "system": run.system,
            "prefix": run.prefix,
            "reasoning_prefix": run.reasoning_prefix,
            "speaker_name": run.speaker_name,
            "suffix": run.suffix,
            "stop": format_stop(list(run.stop)),
            **{key: run.params.get(key) for key in ("temperature", "max_tokens", "top_p")},
        }
    return {}


def initial_context(request: HttpRequest) -> dict[str, Any]:
    """Return the compare page's first state: from ?template=, from ?run=, or the last run.

    A return visit restores the last run whole, prompt and targets with their overrides, and
    the page says so (a banner, a chip per override); `?blank=1` starts from an empty prompt
    with the last run's keys and models but none of its overrides.
    """
    user = request.user
    template = _template_for(request, request.GET.get("template"))
    last = Run.objects.for_user(user).first()
    run = source = None
    if template is None and not request.GET and last is None:
        # A first visit starts from a ready example rather than an empty form.
        template = PrefixTemplate.objects.visible_to(user).filter(key=FIRST_TEMPLATE).first()
    if template is None and request.GET.get("run"):
        try:
            run = Run.objects.for_user(user).filter(code=request.GET["run"]).first()
        except Exception:
            run = None
        source = "run" if run is not None else None
    elif template is None and not request.GET and last is not None:
        run, source = last, "last"
    turns: Any = template.raw_prompt().turns if template else (run.turns if run else [])
    if run is not None:
        targets = _targets_of(run)
    else:
        targets = _without_overrides(_targets_of(last)) if last is not None else []
    targets = targets or _default_targets(user)
    variables = template.variables() if template else []
    values = dict(run.variables) if run else {}
    initial = _prompt_initial(template, run)
    used = _used_column(run, request.GET.get("use"))
    if used is not None:
        # "Use as prefix": the column's full text becomes the new prefix.
        initial["prefix"] = used.full_text
    return _page_context(
        request,
        template=template or (run.template if run else None),
        prompt=PromptForm(initial=initial),
        turns=_turn_forms(turns),
        targets=_target_forms(user, targets),
        variables=[(variable, values.get(variable.name, "")) for variable in variables],
        source_run=run,
        source=source,
        overridden_rows=_overridden_rows(targets) if run is not None else 0,
    )


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


def _page_context(request: HttpRequest, **parts: Any) -> dict[str, Any]:
    user = request.user
    credentials = list(Credential.objects.for_user(user))
    provider_ids = {credential.provider for credential in credentials}
    return {
        **parts,
        "credentials": credentials,
        "model_lists": [p for p in providers() if p.id in provider_ids],
        "templates": PrefixTemplate.objects.visible_to(user).only("code", "name", "category")[:500],
        "max_targets": 6,
        "offline_demo": offers_offline_demo(),
    }


def form_context(
    request: HttpRequest, submission: CompareSubmission, errors: list[str]
) -> dict[str, Any]:
    """Return the compare form's context for re-rendering a submission, with its errors."""
    template = _template_for(request, request.POST.get("template"))
    known = template.variables() if template else []
    prompt = _raw_prompt(submission)
    variables = detect_variables(prompt, known) if prompt else known
    return _page_context(
        request,
        template=template,
        prompt=submission.prompt,
        turns=submission.turns,
        targets=submission.targets,
        variables=[(v, submission.variables.get(v.name, "")) for v in variables],
        errors=errors + submission.errors,
    )


def _raw_prompt(submission: CompareSubmission) -> RenderedPrompt | None:
    """Return the submitted prompt as written (variables unfilled), if its forms are valid."""
    if not submission.prompt.is_valid() or not all(t.is_valid() for t in submission.turns):
        return None
    data = submission.prompt.cleaned_data
    turns = tuple(
        Turn(t.cleaned_data["role"], t.cleaned_data["content"], tuple(t.cleaned_data["images"]))
        for t in submission.turns
    )
    return RenderedPrompt(
        system=data["system"],
        turns=turns,
        prefix=data["prefix"],
        reasoning_prefix=data["reasoning_prefix"],
        suffix=data["suffix"] or None,
        stop=tuple(data["stop"]),
        temperature=data.get("temperature"),
        max_tokens=data.get("max_tokens"),
        top_p=data.get("top_p"),
        speaker_name=data.get("speaker_name", ""),
    )


def _prompt_fields(prompt: RenderedPrompt) -> dict[str, Any]:
    return {
        "system": prompt.system,
        "turns": [
            {"role": t.role, "content": t.content, "images": list(t.images)} for t in prompt.turns
        ],
        "prefix": prompt.prefix,
        "reasoning_prefix": prompt.reasoning_prefix,
        "speaker_name": prompt.speaker_name,
        "suffix": prompt.suffix or "",
        "stop": list(prompt.stop),
        "params": {
            key: value
            for key, value in (
                ("temperature", prompt.temperature),
                ("max_tokens", prompt.max_tokens),
                ("top_p", prompt.top_p),
            )
            if value is not None
        },
    }


def _target_specs(submission: CompareSubmission) -> list[dict[str, Any]]:
    specs = []
    for form in submission.targets:
        data = form.cleaned_data
        overrides = {
            key: data[key]
            for key in ("temperature", "max_tokens", "thinking", "json_mode", "stop")
            if data.get(key)
        }
        if data.get("temperature") == 0:
            overrides["temperature"] = 0.0
        specs.append(
            {"credential": data["credential"], "model": data["model"], "overrides": overrides}
        )
    return specs


def budget_problems(
    raw: RenderedPrompt,
    known: list[Variable],
    values: dict[str, str],
    targets: list[dict[str, Any]],
    limits: Budget,
) -> list[str]:
    """Return why a prompt is over the input budget, checked before anything is rendered.

    The rendered size is computed, not built: ten thousand `{{x}}` with a long value cost a
    scan of the text as written, never the hundred-million-character result.
    """
    problems = []
    for name in find_names(texts_of(raw)):
        problem = text_problem(values.get(name, ""), limits)
        if problem:
            problems.append(f"The value of {name}: {problem}")
    size = rendered_size(raw, known, values)
    if size > limits.prompt_chars:
        problems.append(
            too_long(
                "With its variables filled in, the prompt",
                size,
                limits.prompt_chars,
                "MAX_PROMPT_CHARS",
            )
        )
    for number, target in enumerate(targets, start=1):
        provider_id = target["credential"].provider
        stops = target["overrides"].get("stop") or raw.stop
        try:
            provider = get_provider(provider_id)
        except KeyError:
            continue
        most = provider.max_stop_sequences
        if most is not None and len(stops) > most:
            problems.append(
                f"Target {number}: {provider.name} takes at most {most} stop sequences; "
                f"this run has {len(stops)}."
            )
        url_problem = target["credential"].base_url_problem()
        if url_problem:
            problems.append(f"Target {number}: {url_problem}")
    return problems


def start_run(request: HttpRequest, submission: CompareSubmission) -> StartResult:
    """Validate a compare submission and start its run, or say what stops it."""
    if not submission.is_valid():
        return StartResult(errors=["Some fields need attention; see the messages below."])
    template = _template_for(request, request.POST.get("template"))
    raw = _raw_prompt(submission)
    assert raw is not None
    known = template.variables() if template else []
    targets = _target_specs(submission)
    problems = budget_problems(raw, known, submission.variables, targets, budget())
    if problems:
        return StartResult(errors=problems)
    try:
        prompt = render_variables(raw, known, submission.variables)
    except MissingVariables as missing:
        names = ", ".join(missing.names)
        return StartResult(errors=[f"Fill in the variables without a default: {names}."])
    used = set(find_names(texts_of(raw)))
    try:
        run = Run.objects.start(
            user=request.user,
            prompt=_prompt_fields(prompt),
            targets=targets,
            template=template,
            # Only the variables the prompt uses: values posted for nothing are not kept.
            variables={k: v for k, v in submission.variables.items() if v and k in used},
        )
    except RunLimitReached as full:
        return StartResult(errors=[str(full)])
    return StartResult(run=run)


def rerun(request: HttpRequest, run: Run) -> StartResult:
    """Start a new run with the same prompt and the same targets as `run`."""
    columns = run.columns.select_related("credential").order_by("position")
    targets = [
        {"credential": c.credential, "model": c.model, "overrides": c.overrides}
        for c in columns
        if c.credential is not None
    ]
    if not targets:
        return StartResult(errors=["The keys this run used have all been deleted."])
    prompt = {
        key: getattr(run, key)
        for key in (
            "system",
            "turns",
            "prefix",
            "reasoning_prefix",
            "speaker_name",
            "suffix",
            "stop",
            "params",
        )
    }
    try:
        new = Run.objects.start(
            user=request.user,
            prompt=prompt,
            targets=targets,
            template=run.template,
            variables=run.variables,
        )
    except RunLimitReached as full:
        return StartResult(errors=[str(full)])
    return StartResult(run=new)


def replay_frames(run_pk: int) -> AsyncIterator[str]:
    """Return the frames that restore a run from the database (it never calls a provider)."""
    run = Run.objects.get(pk=run_pk)
    columns = RunColumn.objects.filter(run=run).prefetch_related("segments").order_by("position")
    parts = []
    summary = summarize(columns)
    for column in columns:
        context = {"run": run, "column": column}
        body = render_to_string("runs/_column.html#column-body", context)
        last = column.last_segment
        end = render_to_string(
            "runs/_column.html#column-end", {**context, "segment": last, "oob": True}
        )
        metrics = segment_metrics(last)
        parts.append((column.position, body, metrics, end))
    done = render_to_string(
        "runs/_run.html#run-status",
        {"run": run, "status": run.status, "summary": summary, "column_count": len(parts)},
    )
    return relay.replay_frames(parts, done)


@dataclass
class HistoryFilters:
    template: str = ""
    provider: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> HistoryFilters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(query.get(name, ""))
            except ValueError:
                return None

        return cls(query.get("template", ""), query.get("provider", ""), day("since"), day("until"))

    def apply(self, runs: QuerySet[Run]) -> QuerySet[Run]:
        if self.template:
            try:
                runs = runs.filter(template__code=uuid.UUID(self.template))
            except ValueError:  # not a template's code: nothing matches
                runs = runs.none()
        if self.provider:
            runs = runs.filter(columns__provider=self.provider).distinct()
        if self.since:
            runs = runs.filter(created_at__date__gte=self.since)
        if self.until:
            runs = runs.filter(created_at__date__lte=self.until)
        return runs


def history_choices(user: Any) -> dict[str, Any]:
    """Return the templates and providers the user's history can be filtered by."""
    runs = Run.objects.for_user(user)
    template_ids = runs.exclude(template=None).values("template")
    provider_ids = set(
        RunColumn.objects.filter(run__user=user).values_list("provider", flat=True).distinct()
    )
    return {
        "template_choices": PrefixTemplate.objects.filter(pk__in=template_ids).only("code", "name"),
        "provider_choices": [p for p in providers() if p.id in provider_ids],
    }


def _next_index(request: HttpRequest) -> int:
    try:
        return max(0, min(int(request.GET.get("index", "0")), 999))
    except ValueError:
        return 0


def new_turn_row(request: HttpRequest) -> dict[str, Any]:
    index = _next_index(request)
    role = "assistant" if request.GET.get("after") == "user" else "user"
    return {"form": TurnForm(prefix=f"turn{index}", initial={"role": role}), "index": index}


def new_target_row(request: HttpRequest) -> dict[str, Any]:
    index = _next_index(request)
    form = TargetForm(prefix=f"t{index}", user=request.user)
    return {
        "form": form,
        "index": index,
        "credentials": list(Credential.objects.for_user(request.user)),
    }


def variables_context(data: QueryDict) -> dict[str, Any]:
    """Return the variables the posted prompt texts use, keeping any values already typed."""
    names = ("system", "prefix", "reasoning_prefix", "suffix", "stop")
    texts = [data.get(name, "") for name in names]
    texts += [value for key, value in data.items() if key.startswith("turn")]
    prompt = RenderedPrompt("", (), "", "", None, tuple(texts), None, None, None)
    values = {key.removeprefix("var-"): v for key, v in data.items() if key.startswith("var-")}
    defaults = {
        key.removeprefix("default-"): v for key, v in data.items() if key.startswith("default-")
    }
    known = [Variable(name, default) for name, default in defaults.items()]
    variables = detect_variables(prompt, known)
    return {"variables": [(v, values.get(v.name, "")) for v in variables]}
