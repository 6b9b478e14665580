"""The Django side of a run's stream: claim its segments, build the jobs, render, save, stop.

The stream view stays a thin async shell: `plan_stream` (sync, one thread hop) claims the waiting
segments (taking this process's lease on them) and decrypts the keys, then closes its database
connection so none is held while streaming; `relay.RunRelay` streams; `persist` (sync,
shielded) saves every column once. Stop lives in stops.py, the leases in background.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from playground.accounts.models import User
from playground.providers import (
    CompletionRequest,
    Deadlines,
    ErrorKind,
    ProviderError,
    Target,
    prepare,
)
from playground.providers.catalog import model_info
from playground.providers.prompt import Prompt
from playground.providers.recorder import Recorder

from .fragments import outcome_metrics
from .live import process_id
from .models import UPLOAD_SCHEME, ImageUpload, Run, RunColumn, Segment, cost_of
from .relay import ColumnJob, ColumnOutcome, RunRelay
from .status import RunStatus, SegmentStatus
from .summary import ColumnVerdict, RunSummary
from .team_keys import gate_team_column, may_use_team_key, settle_team_use
from .tool_answers import rounds_of, waits_for_results
from .tool_calls import calls_to_json, live_arguments, live_call
from .verdicts import ReferencePin

ImageResolver = Callable[[str], str]

LIVE_STATUSES = frozenset({SegmentStatus.PENDING, SegmentStatus.RUNNING})


def keep_reference(url: str) -> str:
    return url


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def upload_resolver(run: Run) -> ImageResolver:
    """Return a function that turns `upload:<code>` references of the run's owner into data URLs.

    A reference to an upload that is gone (or someone else's) stays as it is, and the provider
    layer then refuses the column before sending, saying the image is not usable.
    """
    codes = [
        code
        for turn in run.prompt.turns
        for url in turn.images
        if url.startswith(UPLOAD_SCHEME) and _is_uuid(code := url.removeprefix(UPLOAD_SCHEME))
    ]
    uploads = {
        str(upload.code): upload.data_url()
        for upload in (
            ImageUpload.objects.filter(user_id=run.user_id, code__in=codes) if codes else ()
        )
    }

    def resolve(url: str) -> str:
        if url.startswith(UPLOAD_SCHEME):
            return uploads.get(url.removeprefix(UPLOAD_SCHEME), url)
        return url

    return resolve


def with_overrides(prompt: Prompt, overrides: Mapping[str, Any]) -> Prompt:
    """Return `prompt` with a target's own stops, max_tokens and temperature where it sets them."""
    parameters = prompt.parameters
    return replace(
        prompt,
        stop=tuple(overrides.get("stop") or prompt.stop),
        parameters=replace(
            parameters,
            max_tokens=overrides.get("max_tokens") or parameters.max_tokens,
            temperature=_first_set(overrides.get("temperature"), parameters.temperature),
        ),
    )


def completion_request(
    run: Run, column: RunColumn, segment: Segment, images: ImageResolver = keep_reference
) -> CompletionRequest:
    """Return the provider request for one segment of a column.

    The run's prompt, continued from the segment's prefix (Continue sends the text so far),
    with the column's overrides, the turns' uploaded images as data URLs, and the rounds of
    tool calls the column answered before this segment (runs/tool_answers.py).
    """
    prompt = run.prompt.continued(segment.prefix, segment.reasoning_prefix)
    turns = tuple(
        replace(turn, images=tuple(images(url) for url in turn.images)) for turn in prompt.turns
    )
    request = target_request(replace(prompt, turns=turns), column.model, column.overrides or {})
    earlier = (
        [part for part in column.segment_list if part.index < segment.index]
        if segment.index
        else []
    )
    rounds = rounds_of([*earlier, segment])
    return replace(request, tool_rounds=rounds) if rounds else request


def target_request(prompt: Prompt, model: str, overrides: Mapping[str, Any]) -> CompletionRequest:
    """Return the provider request that sends `prompt` to `model` with a target's overrides."""
    thinking = overrides.get("thinking")
    return with_overrides(prompt, overrides).request(
        model,
        thinking=None if thinking in (None, "") else thinking == "on",
        json_mode=bool(overrides.get("json_mode")),
    )


def _first_set(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


@dataclass
class StreamPlan:
    run: Run
    columns: dict[int, RunColumn]
    segments: dict[int, Segment]
    jobs: list[ColumnJob] = field(default_factory=list)
    column_count: int = 0
    # The verdicts of the columns not streamed this time, for the end-of-run summary.
    settled: dict[int, ColumnVerdict] = field(default_factory=dict)
    # The columns not streamed this time that wait for tool results (for "Answer all").
    waiting: set[int] = field(default_factory=set)
    # Blind mode: the frames name no provider or model until the reader's verdict
    # (docs/verdicts.md); the reader is the run's owner unless `plan_stream` was told otherwise.
    blinded: bool = False
    # "Pin as reference" on the columns that end, for the reader (ReferencePin.objects.offer).
    pin_offer: dict[str, object] = field(default_factory=dict)


def _max_tokens_note(column: RunColumn, request: CompletionRequest) -> list[str]:
    """Return a note when max_tokens is above the catalog's figure (the provider decides)."""
    limit = model_info(column.provider, column.model).max_output_tokens
    if request.max_tokens and limit and request.max_tokens > limit:
        return [
            f"max_tokens {request.max_tokens:,} is above the {limit:,} the catalog lists for "
            f"{column.model}; it was sent anyway, and the provider may refuse it."
        ]
    return []


def _job_for(run: Run, column: RunColumn, segment: Segment, images: ImageResolver) -> ColumnJob:
    request = completion_request(run, column, segment, images)
    credential = column.credential
    if credential is None:
        refusal = ProviderError(
            kind=ErrorKind.UNSUPPORTED,
            message="The key this column used has been deleted; pick another and run again.",
            retryable=False,
        )
        target = Target(provider=column.provider, base_url=column.base_url, api_key="")
        return ColumnJob(column.position, target, request, refusal=refusal)
    target = credential.target()
    try:
        request = gate_team_column(run, column, segment, request)
        prepared = prepare(target, request)
    except ProviderError as refusal:
        return ColumnJob(column.position, target, request, refusal=refusal)
    segment.notes = list(prepared.notes) + _max_tokens_note(column, request)
    return ColumnJob(column.position, target, request)


def plan_stream(run_pk: int, viewer_id: int | None = None) -> StreamPlan:
    """Claim the run's waiting segments and build a job for each (sync; closes the DB).

    Four statements when there is something to stream: the claim, the claimed segments with
    their run, columns and keys, the columns' verdicts, and the notes when a column has any.
    Segments abandoned by a dead process are swept (`interrupt_abandoned`) when the claim got
    nothing (a reconnect then replays them as saved) or when another column of the run still
    looks live; a new run needs no sweep, and the process's sweeper runs every few seconds.
    """
    try:
        claimed = Run.objects.claim_pending(run_pk, process_id())
        segments = list(
            Segment.objects.filter(pk__in=claimed)
            .select_related("column", "column__credential", "column__run")
            .order_by()  # sorted below: the model's ORDER BY (by column) costs a join
        )
        segments.sort(key=lambda segment: segment.column.position)
        run = segments[0].column.run if segments else Run.objects.get(pk=run_pk)
        verdicts = run.column_verdicts()
        streamed = {segment.column.position for segment in segments}
        others_live = any(
            verdict.status in LIVE_STATUSES
            for position, verdict in verdicts.items()
            if position not in streamed
        )
        if (not claimed or others_live) and Segment.objects.interrupt_abandoned():
            verdicts = run.column_verdicts()
        plan = StreamPlan(run=run, columns={}, segments={}, column_count=len(verdicts))
        images = upload_resolver(run) if claimed else keep_reference
        noted = []
        for segment in segments:
            column = segment.column
            column.run = run  # one Run object for the whole plan
            plan.columns[column.position] = column
            plan.segments[column.position] = segment
            before = segment.notes
            plan.jobs.append(_job_for(run, column, segment, images))
            if segment.notes != before:
                noted.append(segment)
        if noted:
            Segment.objects.bulk_update(noted, ["notes"])
        plan.settled = {pos: v for pos, v in verdicts.items() if pos not in plan.segments}
        if run.tools and plan.settled:
            plan.waiting = {
                column.position
                for column in run.columns.prefetch_related("segments")
                if column.position in plan.settled and waits_for_results(column.last_segment)
            }
        reader_id = viewer_id if viewer_id is not None else run.user_id
        plan.blinded = run.hides_names_from(reader_id)
        if run.template_id is not None and plan.jobs:
            reader = User.objects.filter(pk=reader_id).first()
            plan.pin_offer = ReferencePin.objects.offer(reader, run) if reader else {}
        return plan
    finally:
        connection.close()


SECRET_REMOVED = "A secret was removed from this column's text."


def _outcome_fields(
    column: RunColumn, outcome: ColumnOutcome, notes: list[str], *, exchange: bool = True
) -> dict[str, Any]:
    """Return the segment fields for `outcome`; with `exchange`, the recorded request and body.

    The key the column was sent with is scrubbed from the model's text and reasoning, in any
    escaping, and the segment's `notes` then say so.
    """
    usage, finish, error = outcome.usage, outcome.finish, outcome.error
    info = model_info(column.provider, column.model)
    text, reasoning = "".join(outcome.text), "".join(outcome.reasoning)
    clean_text, clean_reasoning = outcome.recorder.scrub(text), outcome.recorder.scrub(reasoning)
    calls = outcome.tool_calls.calls()
    saved_calls = calls_to_json(calls, outcome.recorder.scrub)
    removed = clean_text != text or clean_reasoning != reasoning
    removed = removed or saved_calls != calls_to_json(calls, str)
    fields: dict[str, Any] = {
        "status": SegmentStatus.of_outcome(outcome),
        "text": clean_text,
        "reasoning": clean_reasoning,
        "notes": [*notes, SECRET_REMOVED] if removed and SECRET_REMOVED not in notes else notes,
        "finish_reason": finish.reason if finish else "",
        "stop_sequence": (finish.stop_sequence or "") if finish else "",
        "caveats": list(finish.notes) if finish else [],
        "tool_calls": saved_calls,
        "error_kind": str(error.kind) if error else "",
        "error_message": error.message if error else "",
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "ttft_ms": outcome.ttft_ms,
        "elapsed_ms": outcome.elapsed_ms,
        "cost": cost_of(
            usage.input_tokens if usage else None,
            usage.output_tokens if usage else None,
            info.price_input_per_mtok,
            info.price_output_per_mtok,
        ),
        "currency": info.currency or "",
        "finished_at": timezone.now(),
    }
    if exchange:
        recorder = outcome.recorder
        fields["request_dump"] = _request_dump(recorder)
        fields["response_raw"] = recorder.raw
        fields["response_status"] = recorder.status
    return fields


def _request_dump(recorder: Recorder) -> dict[str, Any] | None:
    """Return the request as sent, key already redacted by the provider layer, as JSON data."""
    request = recorder.request
    if request is None:
        return None
    return {
        "method": request.method,
        "url": request.url,
        "headers": dict(request.headers),
        "body": shorten_data_urls(request.body),
        "notes": list(request.notes),
    }


def shorten_data_urls(value: Any) -> Any:
    """Return `value` with long data: URLs cut to their header, so a dump stays readable."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > 120:
        head = value.split(",", 1)[0]
        return f"{head},… [{len(value):,} characters]"
    if isinstance(value, dict):
        return {key: shorten_data_urls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shorten_data_urls(item) for item in value]
    return value


def outcome_notes(outcome: ColumnOutcome) -> list[str]:
    """Return the notes the relay adds to a segment: the output limit.

    (A removed secret is noted by `_outcome_fields`, which scrubs the saved text: whatever the
    live frames had scrubbed is in that text too.)
    """
    notes = []
    if outcome.limited:
        notes.append(
            f"Output limit reached: this site keeps at most "
            f"{settings.RUN_MAX_OUTPUT_CHARS:,} characters per column, so the request was "
            "closed there. The text above is what arrived."
        )
    return notes


def persist(
    plan: StreamPlan, outcomes: dict[int, ColumnOutcome], *, interrupted: bool = False
) -> None:
    """Save every column's outcome and the run's status, once, in one transaction.

    With `interrupted` (the process is shutting down) the columns cut short are saved
    `interrupted` rather than `stopped`: nobody pressed Stop, and they offer Continue. The
    outcome wins over a sweep that marked a segment interrupted meanwhile (a heartbeat late
    on a busy machine); a segment deleted meanwhile (Retry after that sweep) is left deleted.
    """
    close_old_connections()
    try:
        with transaction.atomic():
            for position, segment in plan.segments.items():
                column, outcome = plan.columns[position], outcomes[position]
                notes = list(segment.notes or []) + outcome_notes(outcome)
                fields = _outcome_fields(column, outcome, notes)
                if interrupted and outcome.stopped:
                    fields["status"] = SegmentStatus.INTERRUPTED
                for name, value in fields.items():
                    setattr(segment, name, value)
                Segment.objects.filter(pk=segment.pk).update(**fields)
            if any(may_use_team_key(plan.columns[position]) for position in plan.segments):
                settle_team_use(plan.segments.values())
            plan.run.refresh_status()
    finally:
        connection.close()


def unstarted_outcomes(plan: StreamPlan) -> dict[int, ColumnOutcome]:
    """Return outcomes that mark every claimed segment stopped before it was sent."""
    outcomes = {}
    for position in plan.segments:
        outcome = ColumnOutcome(index=position)
        outcome.stopped = True
        outcome.ended_at = outcome.started
        outcomes[position] = outcome
    return outcomes


async def save_outcomes(
    plan: StreamPlan, outcomes: dict[int, ColumnOutcome], *, interrupted: bool = False
) -> None:
    """Persist in a worker thread, shielded so a second cancellation cannot cut it short."""
    from asgiref.sync import sync_to_async

    await asyncio.shield(sync_to_async(persist)(plan, outcomes, interrupted=interrupted))


def relay_for(plan: StreamPlan, client: Callable[[], httpx.AsyncClient]) -> RunRelay:
    """Return the relay that streams `plan`'s jobs with this site's settings."""
    return RunRelay(
        client,
        plan.jobs,
        HtmlRenderer(plan),
        deadlines=Deadlines(
            first_token=settings.RUN_FIRST_TOKEN_TIMEOUT,
            stall=settings.RUN_STALL_TIMEOUT,
            total=settings.RUN_TOTAL_TIMEOUT,
        ),
        allow_private=settings.ALLOW_PRIVATE_BASE_URLS,
        coalesce=settings.RUN_COALESCE_SECONDS,
        max_output_chars=settings.RUN_MAX_OUTPUT_CHARS,
    )


class HtmlRenderer:
    """Renders the fragments the relay sends, from the plan's columns and live outcomes."""

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan

    def metrics(self, outcome: ColumnOutcome) -> str:
        return outcome_metrics(self.plan.columns[outcome.index], outcome, blinded=self.plan.blinded)

    def end(self, outcome: ColumnOutcome) -> str:
        column = self.plan.columns[outcome.index]
        saved = self.plan.segments[outcome.index]
        # An unsaved copy of the segment as it will be saved: the page and the permalink render
        # a column's end from the same template and the same fields.
        # The recorded exchange is left out: the fragment never shows it, and scrubbing the key
        # from the raw body took ~7 ms of the event loop per column (bench/relay.py).
        notes = list(saved.notes or []) + outcome_notes(outcome)
        segment = Segment(column=column, index=saved.index, prefix=saved.prefix, notes=notes)
        fields = _outcome_fields(column, outcome, notes, exchange=False)
        for name, value in fields.items():
            setattr(segment, name, value)
        return render_to_string(
            "runs/_column.html#column-end",
            {
                "column": column,
                "run": self.plan.run,
                "segment": segment,
                "oob": True,
                "blinded": self.plan.blinded,
                **self.plan.pin_offer,
            },
        )

    def tool_call(self, index: int, slot: int, name: str) -> str:
        return live_call(self.plan.run.code, index, slot, name)

    def tool_arguments(self, index: int, slot: int, escaped: str) -> str:
        return live_arguments(self.plan.run.code, index, slot, escaped)

    def done(self, outcomes: list[ColumnOutcome]) -> str:
        verdicts = dict(self.plan.settled)
        for outcome in outcomes:
            notes = outcome.finish.notes if outcome.finish else ()
            verdicts[outcome.index] = ColumnVerdict(SegmentStatus.of_outcome(outcome), notes)
        summary = RunSummary(tuple(verdicts[position] for position in sorted(verdicts)))
        stopped = any(outcome.stopped for outcome in outcomes)
        answerable = bool(self.plan.waiting) or any(
            SegmentStatus.of_outcome(outcome) == SegmentStatus.DONE and outcome.tool_calls
            for outcome in outcomes
        )
        return render_to_string(
            "runs/_run.html#run-status",
            {
                "run": self.plan.run,
                "status": RunStatus.STOPPED if stopped else RunStatus.DONE,
                "summary": summary,
                "column_count": self.plan.column_count,
                "answerable": answerable,
                "blinded": self.plan.blinded,
                "verdict_loader": True,
            },
        )
