"""What the team has learned about a template: its win table and its reference continuation.

The template's page (prompts app) loads this fragment by URL name, since prompts may not import
runs (tests/test_layers.py). The counting is wins.py's; the pin rules are ReferencePin's.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from playground.htmx import AuthedRequest
from playground.prompts.models import PrefixTemplate

from .models import Run, RunColumn
from .verdicts import PinRefused, ReferencePin
from .wins import Revisions, win_table


def _template(request: AuthedRequest, code: UUID) -> PrefixTemplate:
    return get_object_or_404(PrefixTemplate.objects.visible_to(request.user), code=code)


def _learned(
    request: AuthedRequest,
    template: PrefixTemplate,
    revision: str,
    *,
    status: int = 200,
    **extra: str,
) -> HttpResponse:
    pin = ReferencePin.objects.shown_to(request.user, template)
    column = (
        RunColumn.objects.prefetch_related("segments").select_related("run").get(pk=pin.column_id)
        if pin
        else None
    )
    context = {
        "template": template,
        "table": win_table(template, request.user, revision),
        "pin": pin,
        "pin_column": column,
        "pin_names_hidden": column is not None and column.run.hides_names_from(request.user.pk),
        "can_edit": template.can_edit(request.user),
        **extra,
    }
    name = "runs/learned.html#learned" if request.htmx else "runs/learned.html"
    return render(request, name, context, status=status)


@require_GET
def template_learned(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the win table and the pinned reference of a template the user may see."""
    template = _template(request, code)
    revision = request.GET.get("revision", Revisions.ALL)
    if revision not in Revisions.CHOICES:
        problem = "Choose all revisions or the current one."
        return _learned(request, template, Revisions.ALL, status=422, problem=problem)
    return _learned(request, template, revision)


@require_POST
def pin_column(request: AuthedRequest, code: UUID, position: int) -> HttpResponse:
    """Pin a column of a run the user may open as its template's reference continuation."""
    run = get_object_or_404(Run.objects.visible_to(request.user), code=code)
    column = get_object_or_404(
        RunColumn.objects.prefetch_related("segments").select_related("run__template"),
        run=run,
        position=position,
    )
    try:
        ReferencePin.objects.pin(request.user, column)
    except PinRefused as refused:
        if not request.htmx:
            messages.error(request, str(refused))
            return redirect("runs:detail", code=run.code)
        context = {"run": run, "column": column, "pin_error": str(refused), "may_pin": True}
        return render(request, "runs/_pin.html", context, status=422)
    if not request.htmx:
        messages.success(request, "Pinned as the template's reference continuation.")
        return redirect(run.template) if run.template else redirect("runs:detail", code=run.code)
    context = {"run": run, "column": column, "may_pin": True, "pinned_position": position}
    return render(request, "runs/_pin.html", context)


@require_POST
def unpin(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Remove a template's reference continuation (those who may edit the template)."""
    template = _template(request, code)
    try:
        ReferencePin.objects.unpin(request.user, template)
    except PinRefused as refused:
        return _learned(request, template, Revisions.ALL, status=403, problem=str(refused))
    if not request.htmx:
        return redirect(template)
    return _learned(request, template, Revisions.ALL)
