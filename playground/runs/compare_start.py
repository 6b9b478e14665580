"""Starting a run from the compare form, and starting one again (Re-run) from a saved run.

The submitted prompt is checked against the input budget before its variables are filled in
(docs/limits.md), then rendered and handed to `Run.objects.start`, which holds the run cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playground.accounts.models import User
from playground.htmx import AuthedRequest
from playground.prompts.budget import Budget, too_long
from playground.prompts.forms import budget, text_problem
from playground.prompts.models import PrefixTemplate
from playground.prompts.variables import (
    MissingVariables,
    find_names,
    render,
    rendered_size,
    texts_of,
)
from playground.providers.catalog import get_provider
from playground.providers.prompt import Prompt, Variable

from .compare_page import submitted_prompt, template_for
from .forms import CompareSubmission
from .models import ColumnRuleError, Run
from .tool_preflight import tool_refusals


@dataclass
class StartResult:
    run: Run | None = None
    errors: list[str] = field(default_factory=list)


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
    raw: Prompt,
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


def _start(
    user: User,
    prompt: Prompt,
    targets: list[dict[str, Any]],
    template: PrefixTemplate | None,
    variables: dict[str, str],
    blind: bool = False,
    template_revision: int | None = None,
) -> StartResult:
    try:
        run = Run.objects.start(
            user=user,
            prompt=prompt,
            targets=targets,
            template=template,
            variables=variables,
            blind=blind,
            template_revision=template_revision,
        )
    except ColumnRuleError as refused:  # the run cap, or a team credential's rules
        return StartResult(errors=[str(refused)])
    return StartResult(run=run)


def start_run(request: AuthedRequest, submission: CompareSubmission) -> StartResult:
    """Validate a compare submission and start its run, or say what stops it."""
    raw = submitted_prompt(submission)
    if not submission.is_valid() or raw is None:
        return StartResult(errors=["Some fields need attention; see the messages below."])
    template = template_for(request.user, submission.prompt.cleaned_data.get("template"))
    known = template.variables() if template else []
    targets = _target_specs(submission)
    problems = budget_problems(raw, known, submission.variables, targets, budget())
    if problems:
        return StartResult(errors=problems)
    try:
        prompt = render(raw, known, submission.variables)
    except MissingVariables as missing:
        names = ", ".join(missing.names)
        return StartResult(errors=[f"Fill in the variables without a default: {names}."])
    refusals = tool_refusals(prompt, targets)
    if refusals:
        return StartResult(errors=refusals)
    used = set(find_names(texts_of(raw)))
    # Only the variables the prompt uses: values posted for nothing are not kept.
    values = {k: v for k, v in submission.variables.items() if v and k in used}
    blind = bool(submission.prompt.cleaned_data.get("blind"))
    return _start(request.user, prompt, targets, template, values, blind)


def rerun(request: AuthedRequest, run: Run) -> StartResult:
    """Start a new run with the same prompt and the same targets as `run`."""
    columns = run.columns.select_related("credential").order_by("position")
    targets = [
        {"credential": c.credential, "model": c.model, "overrides": c.overrides}
        for c in columns
        if c.credential is not None
    ]
    if not targets:
        return StartResult(errors=["The keys this run used have all been deleted."])
    return _start(
        request.user,
        run.prompt,
        targets,
        run.template,
        run.variables,
        blind=run.blind,
        template_revision=run.template_revision,
    )
