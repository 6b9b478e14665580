"""Where runs meet team credentials: reserve at start, check before sending, settle at the end.

The runs app calls three functions, one call each (docs/team-credentials.md, "Hook points"):
- `reserve_team_use(run)` inside the transaction that creates the run, or queues a Continue /
  Retry: under the member's and the credentials' locks it checks membership and budgets and
  writes one `TeamUse` reservation per waiting team request, or raises `TeamUseRefused`;
- `gate_team_column(run, column, segment, request)` when the stream is planned, just before a
  column is sent: it raises a ProviderError (the column is then "Not sent") when the member was
  removed, and caps max_tokens at what the budget left the reservation;
- `settle_team_use(segments)` in the transaction that saves a stream's columns: it writes what
  each request really spent.
Columns in flight are stopped through the runs app's Stop (any process) when a member is
removed, a credential deleted or a budget lowered below what is already used (`stop_uses` in
playground/keys/usage.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from playground.accounts.models import Membership
from playground.keys.models import Credential
from playground.keys.usage import TeamBudget, TeamUse
from playground.locks import Purpose, hold_user_lock
from playground.providers import CompletionRequest, ErrorKind, ProviderError
from playground.providers.catalog import model_info

from .models import ColumnRuleError, Run, RunColumn, Segment

# What a request without max_tokens reserves for its output, and the least a budget must have
# left for one to start. Characters per token, for estimates where no usage is reported.
DEFAULT_OUTPUT_RESERVE = 4096
MIN_OUTPUT_TOKENS = 16
CHARS_PER_TOKEN = 4


class TeamUseRefused(ColumnRuleError):
    """A team credential may not be used for this request; the message says why, for the page."""


def _membership(credential: Credential, user_id: int) -> Membership | None:
    membership = (
        Membership.objects.select_related("team")
        .filter(team=credential.team, user_id=user_id)
        .first()
    )
    return membership if membership is not None and membership.may_use_credentials else None


def input_estimate(run: Run, segment: Segment) -> int:
    """Return a generous estimate of a request's input tokens, from the characters it sends."""
    texts = [run.system, segment.prefix, segment.reasoning_prefix, run.suffix]
    texts += [str(turn.get("content", "")) for turn in run.turns]
    return math.ceil(sum(len(text) for text in texts) / CHARS_PER_TOKEN)


def requested_output(run: Run, column: RunColumn) -> int | None:
    """Return the max_tokens the column asks for (its override, else the run's), or None."""
    value = (column.overrides or {}).get("max_tokens") or (run.params or {}).get("max_tokens")
    return int(value) if value else None


def _default_output(column: RunColumn) -> int:
    most = model_info(column.provider, column.model).max_output_tokens
    return min(DEFAULT_OUTPUT_RESERVE, most) if most else DEFAULT_OUTPUT_RESERVE


def _tightest(credential: Credential, user_id: int) -> tuple[TeamBudget, int] | None:
    """Return the budget with the least left for this use and how much it has left, if any."""
    budgets = TeamBudget.objects.select_related("team", "credential").applying_to(
        credential, user_id
    )
    left = [(budget, budget.monthly_tokens - budget.used_this_month()) for budget in budgets]
    return min(left, key=lambda pair: pair[1]) if left else None


def _waiting_team_segments(run: Run) -> list[Segment]:
    """Return the run's waiting segments that use a team credential and have no reservation."""
    reserved = TeamUse.objects.filter(segment__column__run=run).values("segment_id")
    return list(
        Segment.objects.filter(
            column__run=run, status="pending", column__credential__team__isnull=False
        )
        .exclude(pk__in=reserved)
        .select_related("column", "column__credential", "column__credential__team")
        .order_by("column__position", "index")
    )


def reserve_team_use(run: Run) -> None:
    """Reserve budget for every waiting team request of `run`, or raise TeamUseRefused.

    Call inside the transaction that creates the run (or queues a Continue / Retry), after its
    segments exist: the reservation then commits, or rolls back, with them. The member's lock
    and each credential's lock (playground/locks.py) are held until that transaction ends, so
    concurrent starts, in any process, count each other's reservations.
    """
    segments = _waiting_team_segments(run)
    if not segments:
        return
    credentials = {
        segment.column.credential.pk: segment.column.credential
        for segment in segments
        if segment.column.credential is not None
    }
    memberships = {}
    for credential in credentials.values():
        membership = _membership(credential, run.user_id)
        if membership is None:
            raise TeamUseRefused(
                f"“{credential.label}” is a key of a team you are no longer a member of; "
                "choose another key."
            )
        memberships[membership.pk] = membership
    for membership_pk in sorted(memberships):
        hold_user_lock(Purpose.TEAM_MEMBER, membership_pk)
    for credential_pk in sorted(credentials):
        hold_user_lock(Purpose.TEAM_CREDENTIAL, credential_pk)
    for segment in segments:
        _reserve(run, segment)


def _reserve(run: Run, segment: Segment) -> TeamUse:
    column = segment.column
    credential = column.credential
    assert credential is not None and credential.team is not None
    estimate = input_estimate(run, segment)
    requested = requested_output(run, column)
    output = requested or _default_output(column)
    cap = None
    tightest = _tightest(credential, run.user_id)
    if tightest is not None:
        budget, left = tightest
        target = f"Target {column.position + 1} ({credential.label}, {column.model})"
        if requested is not None and estimate + requested > left:
            raise TeamUseRefused(
                f"Over budget: {target} may use up to {estimate + requested:,} tokens "
                f"(about {estimate:,} in, max_tokens {requested:,} out), and {budget.subject} "
                f"has {max(left, 0):,} of its {budget.monthly_tokens:,} tokens left this month. "
                "Lower max_tokens, or ask a team owner to raise the budget."
            )
        if requested is None:
            if left - estimate < MIN_OUTPUT_TOKENS:
                raise TeamUseRefused(
                    f"Over budget: {budget.subject} has {max(left, 0):,} of its "
                    f"{budget.monthly_tokens:,} tokens left this month, not enough for "
                    f"{target} (about {estimate:,} tokens in). Ask a team owner to raise it."
                )
            if left - estimate < output:
                output = cap = left - estimate
    return TeamUse.objects.create(
        team=credential.team,
        credential=credential,
        credential_label=credential.label,
        user_id=run.user_id,
        username=run.user.get_username(),
        run=run,
        run_code=run.code,
        segment=segment,
        position=column.position,
        provider=column.provider,
        model=column.model,
        input_estimate=estimate,
        reserved_tokens=estimate + output,
        output_cap=cap,
    )


def gate_team_column(
    run: Run, column: RunColumn, segment: Segment, request: CompletionRequest
) -> CompletionRequest:
    """Return the request to send for a column (max_tokens capped by its team budget).

    Raise ProviderError (the column is then shown as not sent) when the column uses a team
    credential its run's owner may no longer use, or whose budget has no room left. Personal
    credentials pass unchanged.
    """
    credential = column.credential
    if credential is None or credential.team_id is None:
        return request
    if _membership(credential, run.user_id) is None:
        raise _not_sent(
            "Not sent: this column's key belongs to a team you are no longer a member of."
        )
    use = TeamUse.objects.filter(segment=segment).first()
    if use is None:  # queued by a path that did not reserve: reserve now, or refuse
        try:
            with transaction.atomic():
                reserve_team_use(run)
        except TeamUseRefused as refused:
            raise _not_sent(str(refused)) from None
        use = TeamUse.objects.filter(segment=segment).first()
    cap = use.output_cap if use is not None else None
    if cap is not None and (request.max_tokens is None or request.max_tokens > cap):
        return replace(request, max_tokens=cap)
    return request


def _not_sent(message: str) -> ProviderError:
    return ProviderError(kind=ErrorKind.UNSUPPORTED, message=message, retryable=False)


BUDGET_NOTE = (
    "Stopped at the team budget: this column could write at most {cap:,} tokens, what was left "
    "of it this month. The text above is what arrived."
)


def may_use_team_key(column: RunColumn) -> bool:
    """Return whether `column`'s requests may hold team reservations to settle.

    A column whose credential is personal holds none (`Run.objects.start` reserves only for
    team keys), so its save skips the query; a column whose credential is gone may have held one.
    """
    credential = column.credential
    return credential is None or credential.is_team


def settle_team_use(segments: Iterable[Segment]) -> None:
    """Record what each segment's request spent on its team reservation (inside persist)."""
    by_segment = {segment.pk: segment for segment in segments}
    uses = TeamUse.objects.filter(segment_id__in=list(by_segment), settled_at__isnull=True)
    now = timezone.now()
    for use in uses:
        segment = by_segment[use.segment_id]  # type: ignore[index]
        text = len(segment.text) + len(segment.reasoning)
        reported = segment.input_tokens is not None or segment.output_tokens is not None
        if reported:
            spent_in = segment.input_tokens or 0
            spent_out = segment.output_tokens
            if spent_out is None:
                spent_out = math.ceil(text / CHARS_PER_TOKEN)
            tokens = spent_in + spent_out
        elif text:  # no usage report (stopped early, or a provider that omits it): estimate
            tokens = use.input_estimate + math.ceil(text / CHARS_PER_TOKEN)
        else:
            tokens = 0  # nothing came back and nothing was reported: nothing is charged
        use.started = segment.started_at is not None and segment.status != "skipped"
        use.status = segment.status
        use.input_tokens = segment.input_tokens
        use.output_tokens = segment.output_tokens
        use.tokens = tokens
        use.tokens_estimated = not reported and tokens > 0
        use.cost = segment.cost
        use.currency = segment.currency or ""
        use.settled_at = now
        use.save()
        if use.output_cap is not None and segment.finish_reason == "length":
            note = BUDGET_NOTE.format(cap=use.output_cap)
            notes = [*list(segment.notes or []), note]
            Segment.objects.filter(pk=segment.pk).update(notes=notes)
            segment.notes = notes
