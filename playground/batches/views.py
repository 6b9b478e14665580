"""Batch pages: a template's input sets, an input set, starting a batch, the live grid, exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.htmx import AuthedRequest
from playground.prompts.models import PrefixTemplate

from . import export, summary, tasks
from .forms import InputSetForm, batch_submission, column_report, validate_batch
from .models import Batch, BatchLimitReached, Cell, InputSet, start_batch
from .tables import Table, TableError, read_delimited, to_csv

POLL_OVERLAP = timedelta(seconds=2)  # re-send cells changed just before the last poll


def _visible_template(request: AuthedRequest, code: Any) -> PrefixTemplate:
    return get_object_or_404(PrefixTemplate.objects.visible_to(request.user), code=code)


def _visible_input_set(request: AuthedRequest, code: Any) -> InputSet:
    return get_object_or_404(
        InputSet.objects.visible_to(request.user).select_related("template"), code=code
    )


def _own_batch(request: AuthedRequest, code: Any) -> Batch:
    return get_object_or_404(Batch.objects.for_user(request.user), code=code)


@require_GET
def batch_list(request: AuthedRequest) -> HttpResponse:
    batches = Batch.objects.for_user(request.user).select_related("template")[:100]
    return render(request, "batches/list.html", {"batches": batches})


@require_http_methods(["GET", "POST"])
def template_inputs(request: AuthedRequest, code: Any) -> HttpResponse:
    """A template's input sets and the user's batches of it; add an input set."""
    template = _visible_template(request, code)
    can_edit = template.can_edit(request.user)
    posted = request.method == "POST"
    form = InputSetForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST":
        if not can_edit:
            raise Http404("No such template.")
        if template.input_sets.count() >= settings.BATCH_MAX_INPUT_SETS_PER_TEMPLATE:
            form.add_error(
                None,
                f"A template keeps at most {settings.BATCH_MAX_INPUT_SETS_PER_TEMPLATE} input "
                "sets (BATCH_MAX_INPUT_SETS_PER_TEMPLATE); delete one first.",
            )
        elif form.is_valid():
            table: Table = form.cleaned_data["parsed"]
            input_set = InputSet(
                template=template,
                name=form.cleaned_data["name"],
                columns=table.columns,
                rows=table.rows,
                created_by=request.user,
            )
            input_set.save(author=request.user, note="Created")
            return redirect("batches:input_set", input_set.code)
    context = {
        "template": template,
        "can_edit": can_edit,
        "form": form,
        "variables": template.variables(),
        "input_sets": template.input_sets.all(),
        "batches": Batch.objects.for_user(request.user).filter(template=template)[:50],
    }
    return render(request, "batches/template_inputs.html", context)


def _input_set_context(request: AuthedRequest, input_set: InputSet, **extra: Any) -> dict[str, Any]:
    template = input_set.template
    columns = list(input_set.columns)
    return {
        "input_set": input_set,
        "template": template,
        "can_edit": input_set.can_edit(request.user),
        "report": column_report(template, columns),
        "preview": input_set.rows[:200],
        "revision": input_set.latest_revision,
        **extra,
    }


@require_http_methods(["GET", "POST"])
def input_set(request: AuthedRequest, code: Any) -> HttpResponse:
    """One input set: its table, how its columns meet the variables, and Start a batch."""
    chosen = _visible_input_set(request, code)
    posted = request.POST if request.method == "POST" else None
    submission = batch_submission(posted, request.user)
    if request.method == "POST":
        table = Table(list(chosen.columns), [list(r) for r in chosen.rows])
        submission = validate_batch(submission, chosen.template, table)
        if submission.is_valid():
            try:
                batch = start_batch(
                    user=request.user,
                    template=chosen.template,
                    input_set=chosen,
                    targets=submission.target_specs(),
                    checks=submission.check_specs(),
                )
            except BatchLimitReached as full:
                submission.errors.append(str(full))
            else:
                tasks.enqueue_on_commit(batch.pk)
                return redirect("batches:detail", batch.code)
    context = _input_set_context(request, chosen, submission=submission)
    return render(request, "batches/input_set.html", context, status=200)


@require_http_methods(["GET", "POST"])
def edit_input_set(request: AuthedRequest, code: Any) -> HttpResponse:
    """Edit the rows as CSV text; a change saves a new revision."""
    chosen = _visible_input_set(request, code)
    if not chosen.can_edit(request.user):
        raise Http404("No such input set.")
    text = request.POST.get("table", "") if request.method == "POST" else ""
    error = ""
    if request.method == "POST":
        from .forms import table_limits

        try:
            table = read_delimited(text, table_limits())
        except TableError as problem:
            error = str(problem)
        else:
            chosen.name = (request.POST.get("name") or chosen.name).strip()[:120] or chosen.name
            chosen.columns, chosen.rows = table.columns, table.rows
            chosen.save(author=request.user, note="Edited")
            messages.success(request, "Saved.")
            return redirect("batches:input_set", chosen.code)
    else:
        text = to_csv(Table(list(chosen.columns), [list(r) for r in chosen.rows]))
    return render(request, "batches/edit.html", {"input_set": chosen, "text": text, "error": error})


@require_POST
def delete_input_set(request: AuthedRequest, code: Any) -> HttpResponse:
    chosen = _visible_input_set(request, code)
    if not chosen.can_edit(request.user):
        raise Http404("No such input set.")
    template = chosen.template
    chosen.delete()
    return redirect("batches:template", template.code)


@require_GET
def download_input_set(request: AuthedRequest, code: Any) -> HttpResponse:
    chosen = _visible_input_set(request, code)
    body = to_csv(Table(list(chosen.columns), [list(r) for r in chosen.rows]))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="input-set-{chosen.code}.csv"'
    return response


# ----- the grid -----

VIEWS = ("raw", "rendered")


def _grid_options(request: AuthedRequest) -> dict[str, str]:
    view = request.GET.get("view", "raw")
    show = request.GET.get("show", "all")
    return {
        "view": view if view in VIEWS else "raw",
        "show": "failed" if show == "failed" else "all",
    }


def _cells(batch: Batch) -> Any:
    return (
        Cell.objects.filter(batch=batch)
        .select_related("segment", "run")
        .only(
            *[f.name for f in Cell._meta.concrete_fields],
            "segment__text",
            "run__code",
        )
        .order_by("row", "target__position")
    )


def _grid_context(batch: Batch, options: dict[str, str]) -> dict[str, Any]:
    targets = list(batch.targets.all())
    cells = list(_cells(batch))
    by_row: dict[int, list[Cell]] = {}
    for cell in cells:
        by_row.setdefault(cell.row, []).append(cell)
    rows: list[dict[str, Any]] = [
        {
            "number": index + 1,
            "values": list(zip(batch.columns, values, strict=False)),
            "cells": by_row.get(index, []),
        }
        for index, values in enumerate(batch.rows)
    ]
    if options["show"] == "failed":
        rows = [row for row in rows if any(c.is_failure for c in row["cells"])]
    summaries = summary.summarize(targets, cells)
    counts = batch.counts()
    return {
        "batch": batch,
        "targets": targets,
        "rows": rows,
        "counts": counts,
        "eta": batch.eta_seconds(counts),
        "summaries": summaries,
        "charts": summary.charts(summaries),
        "check_labels": [
            c["kind"] + (f" {c['value']}" if c.get("value") else "") for c in batch.checks
        ],
        "options": options,
        "now": timezone.now().isoformat(),
    }


@require_GET
def detail(request: AuthedRequest, code: Any) -> HttpResponse:
    batch = _own_batch(request, code)
    return render(request, "batches/detail.html", _grid_context(batch, _grid_options(request)))


@require_GET
def poll(request: AuthedRequest, code: Any) -> HttpResponse:
    """The grid's live update: cells changed since `since`, progress and summaries (htmx)."""
    batch = _own_batch(request, code)
    options = _grid_options(request)
    try:
        since = datetime.fromisoformat(request.GET.get("since", ""))
    except ValueError:
        since = timezone.now() - timedelta(days=1)
    if timezone.is_naive(since):
        since = timezone.make_aware(since)
    now = timezone.now()
    changed = list(_cells(batch).filter(changed_at__gte=since - POLL_OVERLAP))
    context = _grid_context(batch, options) if changed or batch.is_final else None
    if context is None:
        counts = batch.counts()
        context = {
            "batch": batch,
            "counts": counts,
            "eta": batch.eta_seconds(counts),
            "options": options,
        }
    context.update(changed=changed, now=now.isoformat(), summary_changed=bool(changed))
    return render(request, "batches/_poll.html", context)


def _act(request: AuthedRequest, code: Any, action: str) -> HttpResponse:
    batch = _own_batch(request, code)
    if action == "pause":
        batch.pause()
    elif action == "resume" and batch.resume():
        tasks.enqueue_on_commit(batch.pk)
    elif action == "cancel":
        batch.cancel()
    elif action == "rerun":
        count = batch.rerun_failed()
        if count:
            tasks.enqueue_on_commit(batch.pk)
            messages.success(request, f"{count} cell{'s' if count != 1 else ''} queued again.")
        else:
            messages.info(request, "No failed cells to re-run.")
    return redirect("batches:detail", batch.code)


@require_POST
def pause(request: AuthedRequest, code: Any) -> HttpResponse:
    return _act(request, code, "pause")


@require_POST
def resume(request: AuthedRequest, code: Any) -> HttpResponse:
    return _act(request, code, "resume")


@require_POST
def cancel(request: AuthedRequest, code: Any) -> HttpResponse:
    return _act(request, code, "cancel")


@require_POST
def rerun_failed(request: AuthedRequest, code: Any) -> HttpResponse:
    return _act(request, code, "rerun")


@require_GET
def download(request: AuthedRequest, code: Any, kind: str) -> StreamingHttpResponse:
    batch = _own_batch(request, code)
    if kind == "csv":
        lines, content_type = export.csv_lines(batch), "text/csv; charset=utf-8"
    elif kind == "jsonl":
        lines, content_type = export.jsonl_lines(batch), "application/x-ndjson; charset=utf-8"
    else:
        raise Http404("No such export.")
    response = StreamingHttpResponse(lines, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.code}.{kind}"'
    return response
