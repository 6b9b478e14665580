"""Compare page, run creation, the run's event stream, Stop, permalink and history."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from playground.accounts import ratelimits
from playground.accounts.models import User
from playground.htmx import AuthedRequest
from playground.http import get_client
from playground.prompts.forms import TURN_PREFIX
from playground.providers.errors import scrub

from . import (
    background,
    compare_page,
    compare_rows,
    compare_start,
    live,
    stops,
    streaming,
    team_sharing,
    tools,
    verdict_page,
)
from .forms import ImageUploadForm, bind_submission
from .history import HistoryFilters, history_choices
from .images import RejectedImage
from .models import (
    ColumnRuleError,
    ImageUpload,
    Run,
    RunColumn,
    Segment,
    SegmentStatus,
    summarize,
)
from .relay import OPEN_FRAME, RunRelay
from .rendering import render_markdown
from .replay import replay_frames
from .team_keys import TeamUseRefused
from .tool_answers import (
    AnswerProblem,
    canned_results,
    pending_calls,
    typed_results,
    waits_for_results,
)
from .verdicts import Verdict, VerdictRefused


def _get_run(request: AuthedRequest, code: UUID, *, to_read: bool = False) -> Run:
    """Return the user's run `code`, or 404 (someone else's run is not found, not forbidden).

    `to_read`: also a run shared with a team of theirs, for the pages that only read it
    (docs/verdicts.md); streaming, Stop, Continue, Retry, Re-run and links stay the owner's.
    """
    runs = Run.objects.visible_to(request.user) if to_read else Run.objects.for_user(request.user)
    return get_object_or_404(runs, code=code)


def _run_context(run: Run, viewer: User | None = None) -> dict[str, Any]:
    """Return a run page's context for `viewer` (None: an anonymous reader of a share link).

    A blind run shows its columns in `blind_order`, and without names (`blinded`) until the
    viewer's verdict (docs/verdicts.md).
    """
    columns = run.in_blind_order(run.columns_with_segments())
    blinded = run.hides_names_from(viewer.pk if viewer is not None else None)
    context = {"run": run, "columns": columns, "summary": summarize(columns), "blinded": blinded}
    if viewer is not None:
        verdict = Verdict.objects.filter(run=run, user=viewer).first()
        context.update(verdict_page.context(run, columns, verdict, blinded))
    return context


@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    return redirect("runs:compare")


@require_GET
def compare(request: AuthedRequest) -> HttpResponse:
    Segment.objects.interrupt_abandoned()
    context = compare_page.initial_context(request)
    return render(request, "runs/compare.html", context)


@require_POST
def create(request: AuthedRequest) -> HttpResponse:
    submission = bind_submission(request.POST, request.user)
    refusal = ratelimits.check(request, "runs")
    if refusal:
        result = compare_start.StartResult(errors=[refusal.message])
    else:
        result = compare_start.start_run(request, submission)
    if result.run is None:
        context = compare_page.form_context(request, submission, errors=result.errors)
        # 422: the form comes back with its messages and what was typed (htmx swaps 422 and
        # 429 too: templates/base.html, htmx-config).
        status = 429 if refusal else 422
        response = render(request, "runs/compare.html#compare-form", context, status=status)
        if request.htmx:
            response = retarget(reswap(response, "outerHTML"), "#compare-form")
        if refusal:
            response["Retry-After"] = str(refusal.retry_after)
        return response
    request.session["compare_blind"] = result.run.blind  # the Blind box stays as last used
    if result.run.blind:
        # The compare form lists the chosen targets in order; a blind run is watched on its own
        # page, which names none of them (docs/verdicts.md).
        return _navigate(request, reverse("runs:detail", args=[result.run.code]))
    if not request.htmx:
        return redirect("runs:detail", code=result.run.code)
    return render(request, "runs/_run.html#run", _run_context(result.run, request.user))


def _navigate(request: AuthedRequest, url: str) -> HttpResponse:
    """Send the browser to `url`: a whole-page navigation, for htmx requests too."""
    if request.htmx:
        return HttpResponse(headers={"HX-Redirect": url})
    return redirect(url)


def _sse_response(body: AsyncIterator[str]) -> StreamingHttpResponse:
    return StreamingHttpResponse(
        body,
        content_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def stream(request: AuthedRequest, code: UUID) -> StreamingHttpResponse:
    user = await request.auser()
    run = await Run.objects.for_user(user).filter(code=code).afirst()
    if run is None:
        raise Http404("No such run.")
    return _sse_response(stream_body(run.pk, str(run.code), user.pk))


@dataclass(eq=False)
class Opened:
    """A stream whose segments are claimed (`plan`), with the opening a Stop waits at."""

    waiting: live.Opening
    plan: streaming.StreamPlan
    started: bool = False  # set once a relay (which saves the run) or a replay took it over


async def open_stream(code: str, plan: Callable[[], streaming.StreamPlan | str]) -> Opened | str:
    """Note the stream's opening, then run `plan` in a worker thread: one thread hop.

    `plan` claims the run's segments (`streaming.plan_stream`), or returns why the stream is
    refused (then nothing was claimed), which is returned. Cancelled meanwhile (the browser
    left), the claim still finishes in its thread: its segments are then saved stopped, never
    left "running".
    """
    waiting = live.opening(code)  # a Stop pressed while the claim runs is kept for the relay
    try:
        planning = asyncio.ensure_future(sync_to_async(plan)())
        try:
            planned = await asyncio.shield(planning)
        except asyncio.CancelledError:
            planned = await planning
            if not isinstance(planned, str):
                await streaming.save_outcomes(planned, streaming.unstarted_outcomes(planned))
            raise
    except BaseException:
        live.close_opening(waiting)
        raise
    if isinstance(planned, str):
        live.close_opening(waiting)
        return planned
    return Opened(waiting, planned)


async def abandon(opened: Opened) -> None:
    """Close the opening; if no relay took its claimed segments, save them stopped. Idempotent."""
    live.close_opening(opened.waiting)
    if not opened.started:
        opened.started = True
        plan = opened.plan
        if plan.segments:
            await streaming.save_outcomes(plan, streaming.unstarted_outcomes(plan))


async def stream_body(
    run_pk: int, code: str, viewer_id: int | None = None, opened: Opened | None = None
) -> AsyncGenerator[str, None]:
    """Yield the event stream of run `run_pk` (`code`): stream what waits, or replay it.

    `viewer_id` is who reads it (None: the run's owner); a blind run's frames name no target
    until that viewer's verdict (docs/verdicts.md). `opened`: the stream's segments already
    claimed (`open_stream`, by the stream endpoint, which claims them in the same thread hop as
    its session check, and has sent `: open` itself); else they are claimed here.
    """
    # `: open` goes out before the run is planned: claiming its segments is a write, and the
    # first byte waited for it, hundreds of milliseconds under load (bench/relay.py).
    try:
        if opened is None:
            yield OPEN_FRAME
            planned = await open_stream(
                code, functools.partial(streaming.plan_stream, run_pk, viewer_id)
            )
            assert not isinstance(planned, str)  # plan_stream always plans
            opened = planned
        waiting, plan = opened.waiting, opened.plan
        if plan.jobs:
            frames = _relay_body(plan, streaming.relay_for(plan, get_client), waiting)
        else:
            live.close_opening(waiting)
            await _settle(run_pk)
            frames = await sync_to_async(replay_frames)(run_pk, viewer_id)
        opened.started = True
        async with aclosing(frames):  # closing this stream closes the relay, which saves the run
            async for frame in frames:
                if frame != OPEN_FRAME:
                    yield frame
    finally:
        if opened is not None:
            await abandon(opened)  # gone before the relay began: its segments saved stopped


async def _settle(run_pk: int, timeout: float = 3.0) -> None:
    """Wait (briefly) for segments another connection is still saving, before a replay.

    An EventSource reconnects as soon as its connection drops; the server side of the old
    connection may still be saving what it streamed.
    """
    deadline = time.monotonic() + timeout
    streaming_now = Segment.objects.filter(column__run_id=run_pk, status=SegmentStatus.RUNNING)
    while time.monotonic() < deadline and await streaming_now.aexists():
        await asyncio.sleep(0.1)


async def _relay_body(
    plan: streaming.StreamPlan, relay: RunRelay, waiting: live.Opening
) -> AsyncGenerator[str, None]:
    stream = live.LiveStream(str(plan.run.code), relay, plan)
    await background.ensure_running()  # the lease heartbeat and the stop listener
    live.register(stream, waiting)
    saved = False
    try:
        done_frame = ""
        async for frame in relay.frames():
            if frame.startswith("event: run-done"):
                done_frame = frame  # sent once the run is saved: "Done" means saved
            elif not stream.draining:
                # Draining (the process shuts down): the columns' last frames would show them
                # stopped; the stream ends without them and the browser reconnects and replays
                # what was saved, marked interrupted.
                yield frame
        live.unregister(stream)
        saved = True  # from here the save runs to its end (shielded), even if cancelled
        await streaming.save_outcomes(plan, relay.outcomes, interrupted=stream.draining)
        if done_frame and not stream.draining:
            yield done_frame
    except asyncio.CancelledError:
        # The browser went away (tab closed, Stop): the relay's own cleanup has already
        # cancelled the upstream requests; what arrived is saved below, marked stopped.
        raise
    finally:
        live.unregister(stream)
        if not saved:
            await streaming.save_outcomes(plan, relay.outcomes, interrupted=stream.draining)


@require_POST
def stop(request: AuthedRequest, code: UUID) -> HttpResponse:
    run = _get_run(request, code)
    stops.request_stop(str(run.code))
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("runs:detail", code=run.code)


@require_POST
def stop_column(request: AuthedRequest, code: UUID, position: int) -> HttpResponse:
    run = _get_run(request, code)
    get_object_or_404(RunColumn, run=run, position=position)
    stops.request_stop(str(run.code), {position})
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("runs:detail", code=run.code)


@require_GET
def detail(request: AuthedRequest, code: UUID) -> HttpResponse:
    Segment.objects.interrupt_abandoned()
    run = _get_run(request, code, to_read=True)
    context = {**_run_context(run, request.user), **team_sharing.share_context(request.user, run)}
    return render(request, "runs/detail.html", context)


@require_POST
def rerun(request: AuthedRequest, code: UUID) -> HttpResponse:
    run = _get_run(request, code)
    if refusal := ratelimits.check(request, "runs"):
        context = {**_run_context(run, request.user), "errors": [refusal.message]}
        response = render(request, "runs/detail.html", context, status=429)
        response["Retry-After"] = str(refusal.retry_after)
        return response
    result = compare_start.rerun(request, run)
    if result.run is None:
        context = {**_run_context(run, request.user), "errors": result.errors}
        return render(request, "runs/detail.html", context, status=409)
    return redirect("runs:detail", code=result.run.code)


@require_GET
def history(request: AuthedRequest) -> HttpResponse:
    Segment.objects.interrupt_abandoned()
    filters = HistoryFilters.from_query(request.GET)
    runs = (
        filters.apply(Run.objects.for_user(request.user))
        .with_judged(request.user)
        .select_related("team")
    )
    page = Paginator(runs.with_summary(), 25).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, **history_choices(request.user)}
    template = "runs/history.html#history-rows" if request.htmx else "runs/history.html"
    return render(request, template, context)


@require_GET
def turn_row(request: AuthedRequest) -> HttpResponse:
    return render(request, "runs/compare.html#turn-row", compare_rows.new_turn_row(request))


@require_GET
def target_row(request: AuthedRequest) -> HttpResponse:
    return render(request, "runs/compare.html#target-row", compare_rows.new_target_row(request))


@require_POST
def variables(request: AuthedRequest) -> HttpResponse:
    context = compare_rows.variables_context(request.POST)
    return render(request, "runs/compare.html#variables", context)


def _get_column(
    request: AuthedRequest, code: UUID, position: int, *, to_read: bool = False
) -> RunColumn:
    """Return column `position` of the user's run `code`, with its segments, or 404."""
    run = _get_run(request, code, to_read=to_read)
    return get_object_or_404(
        RunColumn.objects.select_related("run").prefetch_related("segments"),
        run=run,
        position=position,
    )


BLIND_TEAM_REFUSAL = (
    "A team key's rules (its budget, or your membership) refused to send this column again. "
    "The reason names the target, so it shows after your verdict."
)


def _requeued(
    request: AuthedRequest, column: RunColumn, action: Callable[[], object]
) -> HttpResponse:
    """Run `action` (Continue or Retry) on a column, then show the run streaming again."""
    run = column.run
    if refusal := ratelimits.check(request, "runs"):
        problem = refusal.message
    else:
        try:
            run.requeue(action)
            problem = ""
        except ColumnRuleError as error:  # RunLimitReached among them
            problem = str(error)
            if isinstance(error, TeamUseRefused) and run.hides_names_from(request.user.pk):
                problem = BLIND_TEAM_REFUSAL  # its own text names the target and the key
    if not request.htmx:
        if problem:
            messages.error(request, problem)
        return redirect("runs:detail", code=run.code)
    context = {**_run_context(run, request.user), "problem": problem}
    return render(request, "runs/_run.html#run", context)


@require_POST
def continue_column(request: AuthedRequest, code: UUID, position: int) -> HttpResponse:
    column = _get_column(request, code, position)
    return _requeued(request, column, column.add_continuation)


def _key_scrubber(column: RunColumn) -> Callable[[str], str]:
    """Return a function that removes the column's key from a typed result (any escaping)."""
    secret = column.credential.reveal_key() if column.credential is not None else ""
    return lambda text: scrub(text, secret)


@require_POST
def answer_column(request: AuthedRequest, code: UUID, position: int) -> HttpResponse:
    """Send the typed results for the calls a column ended with, and stream it on."""
    column = _get_column(request, code, position)
    last = column.last_segment
    ready = last is not None and waits_for_results(last)
    calls = pending_calls(last, column.run.prompt.tools) if last is not None and ready else []
    try:
        results = typed_results(calls, request.POST, _key_scrubber(column))
    except AnswerProblem as problem:
        if not request.htmx:  # without htmx the form cannot be posted; the page says why
            context = {
                **_run_context(column.run, request.user),
                **team_sharing.share_context(request.user, column.run),
                "errors": [str(problem)],
            }
            return render(request, "runs/detail.html", context, status=422)
        # 422: the form comes back with the message and what was typed.
        context = {
            "run": column.run,
            "column": column,
            "calls": [call.typed(request.POST) for call in calls],
            "answer_error": str(problem),
        }
        response = render(request, "runs/_tool_answer.html#answer-form", context, status=422)
        return retarget(reswap(response, "outerHTML"), f"#answer-{code}-{position}")
    return _requeued(request, column, lambda: column.add_tool_answer(results))


@require_POST
def answer_all(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Answer every column that ended with calls with its tools' canned results."""
    run = _get_run(request, code)
    columns = list(run.columns.select_related("credential").prefetch_related("segments"))
    answers = []
    problem = ""
    for column in columns:
        last = column.last_segment
        if waits_for_results(last) and last is not None:
            try:
                calls = pending_calls(last, run.prompt.tools)
                answers.append((column, canned_results(calls, _key_scrubber(column))))
            except AnswerProblem as refused:
                problem = str(refused)
    if not answers and not problem:
        problem = "No column is waiting for tool results."
    if problem:
        context = {**_run_context(run, request.user), "problem": problem}
        return render(request, "runs/_run.html#run", context, status=422)

    def answer_each() -> None:
        for column, results in answers:
            column.add_tool_answer(results)

    return _requeued(request, columns[0], answer_each)


@require_POST
def retry_segment(request: AuthedRequest, code: UUID, position: int, index: int) -> HttpResponse:
    column = _get_column(request, code, position)
    return _requeued(request, column, lambda: column.retry(index))


def _tool_page(
    request: AuthedRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a tool as a dialog's content (htmx) or as a page of its own."""
    name = f"{template}#tool" if request.htmx else template
    return render(request, name, context, status=status)


def _blind_refusal(request: AuthedRequest, run: Run, what: str) -> HttpResponse | None:
    """Return the "give your verdict first" page when `run` hides names from the viewer."""
    if not run.hides_names_from(request.user.pk):
        return None
    context = {"run": run, "what": what}
    return _tool_page(request, "runs/blind_refused.html", context, status=403)


@require_GET
def inspect(request: AuthedRequest, code: UUID, position: int) -> HttpResponse:
    column = _get_column(request, code, position, to_read=True)
    if refusal := _blind_refusal(request, column.run, "Inspect"):
        return refusal
    context = {"run": column.run, "column": column, "exchanges": tools.exchanges(column)}
    return _tool_page(request, "runs/inspect.html", context)


@require_GET
def code(request: AuthedRequest, code: UUID, position: int) -> HttpResponse:
    column = _get_column(request, code, position, to_read=True)
    if refusal := _blind_refusal(request, column.run, "View code"):
        return refusal
    segment = column.segment_list[0]
    context = {"run": column.run, "column": column, "code": tools.column_code(column, segment)}
    return _tool_page(request, "runs/code.html", context)


@require_GET
def rendered(request: AuthedRequest, code: UUID, position: int) -> HttpResponse:
    """Return a finished column's text as sanitised Markdown (the column's Rendered view)."""
    column = _get_column(request, code, position, to_read=True)
    context = {"column": column, "busy": column.is_busy}
    if not column.is_busy:
        text = column.full_text + column.run.suffix
        context["html"] = render_markdown(text)
    return render(request, "runs/_column.html#rendered", context)


DOWNLOAD_TYPES = {"txt": "text/plain; charset=utf-8", "json": "application/json"}


@require_GET
def download(request: AuthedRequest, code: UUID, position: int, kind: str) -> HttpResponse:
    """Return a column as a file: its text (.txt), or its whole exchange minus the key (.json)."""
    if kind not in DOWNLOAD_TYPES:
        raise Http404("No such download.")
    column = _get_column(request, code, position, to_read=True)
    if kind == "json" and (refusal := _blind_refusal(request, column.run, "the exchange")):
        return refusal
    if kind == "txt":
        body = column.full_text + column.run.suffix
    else:
        body = tools.pretty_json(tools.column_export(column)) + "\n"
    response = HttpResponse(body.encode(), content_type=DOWNLOAD_TYPES[kind])
    blinded = column.run.hides_names_from(request.user.pk)
    name = tools.download_name(column, kind, blinded=blinded)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def diff(request: AuthedRequest, code: UUID) -> HttpResponse:
    run = _get_run(request, code, to_read=True)
    if refusal := _blind_refusal(request, run, "Diff"):
        return refusal
    columns = list(run.columns.prefetch_related("segments").order_by("position"))
    if len(columns) < 2:
        raise Http404("A diff needs two columns.")
    by_position = {column.position: column for column in columns}
    left = by_position.get(_int(request.GET.get("a"), 0), columns[0])
    right = by_position.get(_int(request.GET.get("b"), 1), columns[1])
    context = {"run": run, "columns": columns, "diff": tools.diff_columns(left, right)}
    return _tool_page(request, "runs/diff.html", context)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@require_POST
def share(request: AuthedRequest, code: UUID) -> HttpResponse:
    run = _get_run(request, code)
    if request.POST.get("action") == "revoke":
        run.disable_sharing()
    else:
        run.enable_sharing()
    if request.htmx:
        return render(request, "runs/detail.html#share", {"run": run})
    return redirect("runs:detail", code=run.code)


@require_POST
def upload_image(request: AuthedRequest) -> HttpResponse:
    """Store an image for a turn and add its reference to that turn's image list (htmx)."""
    turn = _int(request.GET.get("turn"), 0)
    field = f"{TURN_PREFIX}{turn}-images"
    form = ImageUploadForm(request.POST, request.FILES)
    context: dict[str, Any] = {"turn": turn, "images": request.POST.get(field, "")}
    try:
        if not form.is_valid():
            errors = form.errors.get("image", ["Choose an image to upload."])
            raise RejectedImage(" ".join(str(error) for error in errors))
        upload = ImageUpload.objects.store(request.user, form.cleaned_data["image"])
    except RejectedImage as rejected:
        return render(request, "runs/compare.html#upload-result", {**context, "error": rejected})
    images = "\n".join(line for line in [context["images"].strip(), upload.reference] if line)
    context.update(upload=upload, images=images)
    return render(request, "runs/compare.html#upload-result", context)


@require_GET
def image(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return an uploaded image: the user's own, or one in a run shared with them."""
    upload = get_object_or_404(ImageUpload, code=code)
    if upload.user_id != request.user.pk:
        shared = Run.objects.visible_to(request.user).filter(user_id=upload.user_id)
        if not shared.filter(turns__icontains=upload.reference).exists():
            raise Http404("No such image.")
    response = HttpResponse(bytes(upload.data), content_type=upload.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
def verdict(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Show (GET) or give (POST) the viewer's verdict on a run they may open."""
    run = get_object_or_404(Run.objects.visible_to(request.user), code=code)
    if request.method == "GET":
        if not request.htmx:
            return redirect(f"{reverse('runs:detail', args=[run.code])}#verdict-{run.code}")
        return render(request, "runs/_verdict.html#panel", _run_context(run, request.user))
    was_blinded = run.hides_names_from(request.user.pk)
    positions = list(run.columns.values_list("position", flat=True))
    typed = verdict_page.Typed.read(request.POST, positions)
    try:
        Verdict.objects.record(run, request.user, typed.ranking(), typed.note)
    except VerdictRefused as refused:
        context = _run_context(run, request.user)
        columns = context["columns"]
        existing = context["verdict"]
        context.update(
            verdict_page.context(run, columns, existing, was_blinded, typed, str(refused))
        )
        # 422: the form comes back with its message and what was typed.
        template = "runs/_verdict.html#panel" if request.htmx else "runs/detail.html"
        return render(request, template, context, status=422)
    if was_blinded or not request.htmx:
        # The names appear everywhere on the page at once: reload it.
        return _navigate(request, reverse("runs:detail", args=[run.code]))
    return render(request, "runs/_verdict.html#panel", _run_context(run, request.user))


@login_not_required
@require_GET
def shared(request: HttpRequest, token: str) -> HttpResponse:
    run = get_object_or_404(Run, share_token=token)
    context = {**_run_context(run), "readonly": True}
    return render(request, "runs/shared.html", context)
