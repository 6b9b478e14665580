"""Runs: one prompt sent to 1–6 targets, each a column whose output is one or more segments.

A run snapshots everything it sent (the rendered prompt, each target's provider, model and
overrides), so history and permalinks stay true after templates and credentials change. A
column's first segment is its answer to the prompt; Continue appends further segments, each
continuing from the column's full text so far.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.utils import timezone

from playground.locks import Purpose, hold_user_lock
from playground.providers.prompt import (
    Parameters,
    Prompt,
    choice_from_json,
    choice_to_json,
    tool_from_json,
    tool_to_json,
    turn_from_json,
    turn_to_json,
)
from playground.providers.tools import ToolResult

from .status import FINAL_SEGMENT_STATUSES, error_title
from .status import RunStatus as RunStatus  # the choices live, with their meaning, in status.py
from .status import SegmentStatus as SegmentStatus
from .summary import ColumnVerdict, RunSummary, Spend, add_spend
from .tool_answers import (
    MAX_TOOL_ROUNDS,
    calls_from_json,
    results_to_json,
    rounds_answered,
    turn_so_far,
    waits_for_results,
)

if TYPE_CHECKING:
    from django.core.files import File

    from playground.accounts.models import Team, User
    from playground.prompts.models import PrefixTemplate


class ColumnRuleError(ValueError):
    """A column action that its state does not allow; the message says why."""


class RunLimitReached(ColumnRuleError):
    """The user already has as many live runs as the site allows; the message says so."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} runs streaming, the most this site allows at once. "
            "Wait for one to finish or stop it, then run again."
        )
        self.limit = limit


@contextmanager
def run_slot(user_id: int, *, reopening: int | None = None) -> Iterator[None]:
    """Take one of the user's live-run slots for the block, or raise RunLimitReached.

    The one place the per-user run cap is checked, for a new run and for a run made live again
    (Continue, Retry: `reopening` is its pk, and a run that is live already takes no new slot).
    Abandoned segments are swept (`Segment.objects.interrupt_abandoned`), so runs whose stream
    died or was never opened stop counting: for a new run only when it is at the cap (then it
    counts again; below the cap the sweep changes nothing here, and every process sweeps every
    few seconds).
    Counting and the block's inserts run in one transaction under the user's lock
    (playground/locks.py), so concurrent starts cannot both see a free slot.
    """
    limit = settings.MAX_CONCURRENT_RUNS_PER_USER
    with transaction.atomic():
        hold_user_lock(Purpose.RUNS, user_id)
        live = Run.objects.filter(user_id=user_id).live()
        if reopening is not None:  # is the run live (takes no slot), or was it abandoned?
            Segment.objects.interrupt_abandoned()
            if not live.filter(pk=reopening).exists() and live.count() >= limit:
                raise RunLimitReached(limit)
        elif live.count() >= limit:
            Segment.objects.interrupt_abandoned()
            if live.count() >= limit:
                raise RunLimitReached(limit)
        yield


def _keep_prefetched(instance: models.Model, name: str, objects: list[Any]) -> None:
    """Keep `objects` as `instance`'s related `name`, as prefetch_related would have left them.

    `instance.<name>.all()` then returns them without a query (Django's own prefetch cache).
    """
    queryset = getattr(instance, name).get_queryset()
    queryset._result_cache = objects
    queryset._prefetch_done = True
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = queryset


def _reserve_team_use(run: Run) -> None:
    """Reserve team-credential budget for the run's waiting requests (TeamUseRefused if not)."""
    from .team_keys import reserve_team_use

    reserve_team_use(run)


def _shuffled(items: list[Any]) -> list[Any]:
    """Return `items` in a random order drawn from the system's randomness."""
    shuffled = list(items)
    secrets.SystemRandom().shuffle(shuffled)
    return shuffled


class RunQuerySet(models.QuerySet["Run"]):
    def for_user(self, user: User) -> RunQuerySet:
        """Return the runs `user` owns."""
        return self.filter(user=user)

    def visible_to(self, user: User) -> RunQuerySet:
        """Return the runs `user` may open: their own, and those shared with a team of theirs."""
        return self.filter(models.Q(user=user) | models.Q(team__memberships__user=user)).distinct()

    def with_judged(self, user: User) -> RunQuerySet:
        """Annotate each run with `judged`: whether `user` has given a verdict on it."""
        from playground.runs.verdicts import Verdict

        mine = Verdict.objects.filter(run=models.OuterRef("pk"), user=user)
        return self.annotate(judged=models.Exists(mine))

    def naming_targets_to(self, user: User) -> RunQuerySet:
        """Return the runs that show `user` their providers and models: all but the blind runs
        `user` has not judged (docs/verdicts.md)."""
        from playground.runs.verdicts import Verdict

        mine = Verdict.objects.filter(run=models.OuterRef("pk"), user=user)
        return self.exclude(models.Q(blind=True) & ~models.Exists(mine))

    def with_summary(self) -> RunQuerySet:
        """Prefetch what `Run.summary` and `Run.spend` read (columns, segments minus bodies)."""
        light = Segment.objects.defer(
            "text", "reasoning", "prefix", "reasoning_prefix", "request_dump", "response_raw"
        )
        return self.prefetch_related("columns", models.Prefetch("columns__segments", light))

    def in_history(
        self,
        *,
        template: str = "",
        provider: str = "",
        since: date | None = None,
        until: date | None = None,
    ) -> RunQuerySet:
        """Return the runs the history page's filters select (each filter only when given).

        `template` is a template's code; anything else matches no run. `since` and `until`
        are days, both included.
        """
        runs = self
        if template:
            try:
                runs = runs.filter(template__code=uuid.UUID(template))
            except ValueError:  # not a template's code
                runs = runs.none()
        if provider:
            runs = runs.filter(columns__provider=provider).distinct()
        if since:
            runs = runs.filter(created_at__date__gte=since)
        if until:
            runs = runs.filter(created_at__date__lte=until)
        return runs

    def live(self) -> RunQuerySet:
        """Return runs still marked running."""
        return self.filter(status=RunStatus.RUNNING)

    def stale(self, older_than: timedelta) -> RunQuerySet:
        """Return running runs created more than `older_than` ago (nobody is streaming them)."""
        return self.live().filter(created_at__lt=timezone.now() - older_than)

    def start(
        self,
        *,
        user: User,
        prompt: Prompt,
        targets: list[dict[str, Any]],
        template: PrefixTemplate | None = None,
        variables: dict[str, str] | None = None,
        capped: bool = True,
        blind: bool = False,
        template_revision: int | None = None,
    ) -> Run:
        """Save a new run with one column and one waiting segment per target, and return it.

        `prompt` is the rendered prompt to send; each target holds a credential, a model and
        its overrides. Raise RunLimitReached when the user is at the run cap (`capped=False`
        only for tooling that prepares runs in bulk, such as the benchmarks). A `blind` run
        gets its targets in a random order (so a column's position says nothing about the
        form's order) and a random `blind_order` of letters (docs/verdicts.md). The run records
        the template's revision number: `template_revision` when given (a Re-run keeps its
        source's), else the template's latest.
        """
        if blind:
            targets = _shuffled(targets)
        if template is not None and template_revision is None:
            template_revision = latest_revision_number(template)
        with run_slot(user.pk) if capped else transaction.atomic():
            run = self.model(
                user=user,
                template=template,
                template_name=template.name if template is not None else "",
                template_revision=template_revision if template is not None else None,
                variables=variables or {},
                blind=blind,
                blind_order=_shuffled(list(range(len(targets)))) if blind else [],
            )
            run.prompt = prompt
            run.save(force_insert=True)
            # Two INSERTs for all the columns and their segments (bulk_create sets the ids).
            columns = RunColumn.objects.bulk_create(
                [
                    RunColumn(
                        run=run,
                        position=position,
                        credential=target["credential"],
                        provider=target["credential"].provider,
                        credential_label=target["credential"].label,
                        dialect=target["credential"].effective_dialect,
                        base_url=target["credential"].effective_base_url,
                        is_simulator=target["credential"].is_simulator,
                        model=target["model"],
                        overrides=target.get("overrides", {}),
                    )
                    for position, target in enumerate(targets)
                ]
            )
            segments = Segment.objects.bulk_create(
                [
                    Segment(
                        column=column,
                        index=0,
                        prefix=run.prefix,
                        reasoning_prefix=run.reasoning_prefix,
                    )
                    for column in columns
                ]
            )
            if any(target["credential"].is_team for target in targets):
                _reserve_team_use(run)
        # The page's fragment shows these columns: kept on the run, no query needed to read them.
        for column, segment in zip(columns, segments, strict=True):
            _keep_prefetched(column, "segments", [segment])
        _keep_prefetched(run, "columns", columns)
        return run

    def claim_pending(self, run_pk: int, holder: str) -> list[int]:
        """Atomically take run `run_pk`'s waiting segments for streaming by `holder`; return ids.

        One conditional UPDATE ... RETURNING (PostgreSQL, SQLite >= 3.35) sets the status,
        the start time and the lease (holder and first heartbeat) together, so two connections
        racing for one run (an EventSource reconnect, a second tab, another process) never
        both call the provider. A segment waiting longer than RUN_UNOPENED_GRACE_SECONDS is
        left for the sweep, which marks it never opened (`Segment.objects.interrupt_abandoned`).
        """
        now = timezone.now()
        grace_cutoff = now - timedelta(seconds=settings.RUN_UNOPENED_GRACE_SECONDS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Segment._meta.db_table}"
                " SET status = %s, started_at = %s, holder = %s, heartbeat_at = %s"
                " WHERE status = %s AND created_at >= %s AND column_id IN"
                f" (SELECT id FROM {RunColumn._meta.db_table} WHERE run_id = %s)"
                " RETURNING id",
                [
                    SegmentStatus.RUNNING,
                    now,
                    holder,
                    now,
                    SegmentStatus.PENDING,
                    grace_cutoff,
                    run_pk,
                ],
            )
            return [row[0] for row in cursor.fetchall()]

    def mark_interrupted(self) -> int:
        """Mark these runs and their unfinished segments interrupted; return how many runs."""
        with transaction.atomic():
            runs = list(self.values_list("pk", flat=True))
            Segment.objects.filter(
                column__run__in=runs, status__in=[SegmentStatus.PENDING, SegmentStatus.RUNNING]
            ).update(status=SegmentStatus.INTERRUPTED, finished_at=timezone.now())
            return Run.objects.filter(pk__in=runs).update(
                status=RunStatus.INTERRUPTED, finished_at=timezone.now()
            )


def default_tool_choice() -> str:
    """Return the tool choice of a prompt that says nothing about it."""
    return "auto"


def latest_revision_number(template: PrefixTemplate) -> int | None:
    """Return the number of `template`'s latest revision (None before its first save)."""
    number: int | None = (
        template.revisions.order_by("-number").values_list("number", flat=True).first()
    )
    return number


class SharingRefused(ValueError):
    """The owner may not share the run that way; the message says why."""


class Run(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs"
    )
    template = models.ForeignKey(
        "prompts.PrefixTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    template_name = models.CharField(max_length=200, blank=True)
    # The template's revision number when the run started (the win table's "current revision").
    template_revision = models.PositiveIntegerField(null=True, blank=True)
    # The rendered prompt, exactly as sent; read and written as a whole through `prompt`.
    system = models.TextField(blank=True)
    turns = models.JSONField(default=list, blank=True)  # [{"role", "content", "images": [...]}]
    prefix = models.TextField(blank=True)
    reasoning_prefix = models.TextField(blank=True)
    speaker_name = models.CharField(max_length=64, blank=True)  # Moonshot's `name` on the prefix
    suffix = models.TextField(blank=True)  # empty: no fill-in-the-middle
    stop = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)  # the parameters set (Parameters.given)
    # The tools offered and the choice among them, in the exchange format (Prompt.to_json).
    tools = models.JSONField(default=list, blank=True)
    tool_choice = models.JSONField(default=default_tool_choice, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.RUNNING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    share_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The team this run is shared with (its members may open it, give a verdict and count it in
    # the template's win table), or none: the run is its owner's alone (docs/verdicts.md).
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shared_runs",
    )
    # Blind mode: provider and model names stay hidden from a viewer until that viewer has given
    # a verdict; the columns show as A, B, C... in `blind_order` (column positions, as shown).
    blind = models.BooleanField(default=False)
    blind_order = models.JSONField(default=list, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="run_user_recent")]

    def __str__(self) -> str:
        return f"Run {self.code} ({self.status})"

    @property
    def state(self) -> RunStatus:
        """Return the status as its choice, which knows what it means (status.py)."""
        return RunStatus(self.status)

    @property
    def prompt(self) -> Prompt:
        """Return the prompt as sent: the one place the prompt columns are read.

        A run's prompt is rendered, so it has no variable notes; the values it was rendered
        with are `variables`.
        """
        return Prompt(
            system=self.system,
            turns=tuple(turn_from_json(turn) for turn in self.turns),
            prefix=self.prefix,
            reasoning_prefix=self.reasoning_prefix,
            suffix=self.suffix,
            stop=tuple(self.stop),
            parameters=Parameters.from_json(self.params),
            speaker_name=self.speaker_name,
            tools=tuple(tool_from_json(tool) for tool in self.tools),
            tool_choice=choice_from_json(self.tool_choice),
        )

    @prompt.setter
    def prompt(self, prompt: Prompt) -> None:
        """Set the prompt columns from `prompt`: the one place they are written."""
        self.system = prompt.system
        self.turns = [turn_to_json(turn) for turn in prompt.turns]
        self.prefix = prompt.prefix
        self.reasoning_prefix = prompt.reasoning_prefix
        self.speaker_name = prompt.speaker_name
        self.suffix = prompt.suffix
        self.stop = list(prompt.stop)
        self.params = prompt.parameters.given()
        self.tools = [tool_to_json(tool) for tool in prompt.tools]
        self.tool_choice = choice_to_json(prompt.tool_choice)

    @property
    def title(self) -> str:
        """Return a short human title: the template's name, or the start of the prefix."""
        if self.template_name:
            return self.template_name
        head = self.prefix.strip().splitlines()[0] if self.prefix.strip() else ""
        return (head[:60] + "…") if len(head) > 60 else (head or "Ad-hoc prompt")

    @property
    def summary(self) -> RunSummary:
        """Return what the run's columns came to ("2 done · 1 failed"); see summary.py."""
        return summarize(self.columns.all())

    @property
    def spend(self) -> Spend:
        """Return the tokens and cost of every segment of every column."""
        return add_spend(
            [
                (segment.input_tokens, segment.output_tokens, segment.cost, segment.currency)
                for column in self.columns.all()
                for segment in column.segments.all()
            ]
        )

    def columns_with_segments(self) -> list[RunColumn]:
        """Return the columns in order with their segments (kept from `start`, else queried)."""
        if "columns" in getattr(self, "_prefetched_objects_cache", {}):
            return list(self.columns.all())
        return list(
            RunColumn.objects.filter(run=self).prefetch_related("segments").order_by("position")
        )

    def column_verdicts(self) -> dict[int, ColumnVerdict]:
        """Return each column's verdict by position, read from its last segment."""
        last: dict[int, ColumnVerdict] = {}
        rows = Segment.objects.filter(column__run=self).order_by("column__position", "index")
        for position, status, caveats in rows.values_list("column__position", "status", "caveats"):
            last[position] = ColumnVerdict(status, tuple(caveats or ()))
        return last

    def claim_pending_segments(self, holder: str) -> list[int]:
        """Atomically take this run's waiting segments for streaming by `holder`; return ids."""
        return Run.objects.claim_pending(self.pk, holder)

    def requeue(self, action: Callable[[], object]) -> None:
        """Queue a segment with `action` (Continue, Retry) and mark the run running again.

        Requeueing makes the run live again, so it takes a slot under the run cap like a new
        run: RunLimitReached when the user is at the cap (unless this run is live already).
        """
        with run_slot(self.user_id, reopening=self.pk):
            action()
            _reserve_team_use(self)
            self.reopen()

    def refresh_status(self) -> None:
        """Derive the run's status from its segments and save it."""
        statuses = set(Segment.objects.filter(column__run=self).values_list("status", flat=True))
        if statuses & {SegmentStatus.PENDING, SegmentStatus.RUNNING}:
            status = RunStatus.RUNNING
        elif SegmentStatus.INTERRUPTED in statuses:
            status = RunStatus.INTERRUPTED
        elif SegmentStatus.STOPPED in statuses:
            status = RunStatus.STOPPED
        else:
            status = RunStatus.DONE
        self.status = status
        self.finished_at = None if status == RunStatus.RUNNING else timezone.now()
        self.save(update_fields=["status", "finished_at"])

    def reopen(self) -> None:
        """Mark the run running again after a segment was queued (Continue, Retry)."""
        self.status = RunStatus.RUNNING
        self.finished_at = None
        self.save(update_fields=["status", "finished_at"])

    def hides_names_from(self, user_id: int | None) -> bool:
        """Return whether the run shows `user_id` no provider or model names (blind mode).

        A blind run hides them from each viewer until that viewer has given a verdict; an
        anonymous viewer (None: a share link) never gives one (docs/verdicts.md).
        """
        if not self.blind:
            return False
        return user_id is None or not self.verdicts.filter(user_id=user_id).exists()

    def _blind_index(self, position: int) -> int:
        order = [int(p) for p in self.blind_order or []]
        return order.index(position) if position in order else len(order) + position

    def letter_of(self, position: int) -> str:
        """Return the letter blind mode shows for column `position` (A, B, C... in blind_order)."""
        index = self._blind_index(position)
        return chr(ord("A") + index) if index < 26 else str(index + 1)

    def in_blind_order(self, columns: Iterable[RunColumn]) -> list[RunColumn]:
        """Return `columns` in the order blind mode shows them (their own order otherwise)."""
        columns = list(columns)
        if not self.blind:
            return columns
        return sorted(columns, key=lambda column: self._blind_index(column.position))

    def enable_sharing(self) -> str:
        """Give the run an unguessable share token (keeping an existing one) and return it."""
        if not self.share_token:
            self.share_token = secrets.token_urlsafe(24)
            self.save(update_fields=["share_token"])
        return self.share_token

    def disable_sharing(self) -> None:
        """Revoke the share link: the old token answers 404 from now on."""
        self.share_token = None
        self.save(update_fields=["share_token"])

    # ----- sharing with a team (docs/verdicts.md); who may open a run is `visible_to` -----

    def is_owned_by(self, user: User) -> bool:
        """Return whether `user` owns this run (only the owner shares, streams and changes it)."""
        return self.user_id == user.pk

    def share_with(self, user: User, team: Team | None) -> None:
        """Share the run with `team`, or make it private again (None); `user` asks.

        Raise SharingRefused unless `user` owns the run and (for a team) is a member of it.
        """
        if not self.is_owned_by(user):
            raise SharingRefused("Only the run's owner can share it.")
        if team is not None and not team.memberships.filter(user=user).exists():
            raise SharingRefused("You can share a run only with a team you are a member of.")
        self.team = team
        self.save(update_fields=["team"])

    def suggested_team(self, user: User) -> Team | None:
        """Return the team to offer first: the run's template's team, if `user` is in it."""
        from playground.accounts.models import Team

        template = self.template
        if template is None or template.team_id is None:
            return None
        team: Team | None = Team.objects.for_user(user).filter(pk=template.team_id).first()
        return team


class RunColumn(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="columns")
    position = models.PositiveSmallIntegerField()
    credential = models.ForeignKey(
        "keys.Credential", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Snapshots of the target, so the run reads true after the credential changes.
    provider = models.CharField(max_length=40)
    credential_label = models.CharField(max_length=120, blank=True)
    dialect = models.CharField(max_length=40, blank=True)
    base_url = models.CharField(max_length=500, blank=True)
    is_simulator = models.BooleanField(default=False)
    model = models.CharField(max_length=200)
    overrides = models.JSONField(default=dict, blank=True)  # temperature, max_tokens, stop, ...

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="one_column_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} in {self.run_id}"

    @property
    def provider_name(self) -> str:
        """Return the provider's display name from the catalog (its id if unknown)."""
        from playground.providers.catalog import get_provider

        try:
            return get_provider(self.provider).name
        except KeyError:
            return self.provider

    @property
    def verdict(self) -> ColumnVerdict:
        """Return the column's outcome: its last segment's (running when it has none)."""
        last = self.last_segment
        return last.verdict if last is not None else ColumnVerdict("pending")

    @property
    def segment_list(self) -> list[Segment]:
        """Return the segments in order (prefetched when the caller asked for them)."""
        return sorted(self.segments.all(), key=lambda segment: segment.index)

    @property
    def text(self) -> str:
        """Return everything the column's segments generated, in order."""
        return "".join(segment.text for segment in self.segment_list)

    @property
    def reasoning(self) -> str:
        return "".join(segment.reasoning for segment in self.segment_list)

    @property
    def last_segment(self) -> Segment | None:
        segments = self.segment_list
        return segments[-1] if segments else None

    @property
    def full_text(self) -> str:
        """Return the run's prefix followed by everything this column generated."""
        return self.run.prefix + self.text

    @property
    def is_busy(self) -> bool:
        """Return whether a segment of this column is waiting or streaming."""
        last = self.last_segment
        return last is not None and not last.is_final

    def add_continuation(self) -> Segment:
        """Queue a segment that continues from the column's full text; return it.

        The new prefix is exactly the run's prefix plus everything generated so far; for
        thinking models the reasoning so far goes along as the reasoning prefix.
        """
        last = self.last_segment
        if last is None or not last.can_continue:
            raise ColumnRuleError("Only a column that stopped at its token limit can continue.")
        # The turn so far: after answered tool calls, the answer's text, not the whole column.
        prefix, reasoning_prefix = turn_so_far(self.segment_list)
        return Segment.objects.create(
            column=self,
            index=last.index + 1,
            prefix=prefix,
            reasoning_prefix=reasoning_prefix,
        )

    def add_tool_answer(self, results: Sequence[ToolResult]) -> Segment:
        """Queue a segment that sends `results` for the calls the column ended with; return it.

        Its request is the prompt plus every round so far (runs/tool_answers.py); it starts a
        new turn, so it has no prefix of its own. At most MAX_TOOL_ROUNDS rounds per column.
        """
        # Read afresh (the caller holds the user's lock, run_slot): a second click on Answer
        # finds the first one's segment and is refused instead of colliding with it.
        segments = list(Segment.objects.filter(column=self).order_by("index"))
        last = segments[-1] if segments else None
        if last is None or not waits_for_results(last):
            raise ColumnRuleError("Only a column that ended with tool calls can be answered.")
        if rounds_answered(segments) >= MAX_TOOL_ROUNDS:
            raise ColumnRuleError(
                f"This column has answered {MAX_TOOL_ROUNDS} rounds of tool calls, the most one "
                "column takes (MAX_TOOL_ROUNDS). Start a new run to go on."
            )
        calls = [call.id for call in calls_from_json(last.tool_calls)]
        if [result.call_id for result in results] != calls:
            raise ColumnRuleError("Answer every call of this column, once each.")
        return Segment.objects.create(
            column=self, index=last.index + 1, tool_results=results_to_json(results)
        )

    def retry(self, index: int) -> Segment:
        """Queue segment `index` again, dropping it and every later segment; return it."""
        if self.is_busy:
            raise ColumnRuleError("This column is still streaming; stop it or wait first.")
        segment = next((s for s in self.segment_list if s.index == index), None)
        if segment is None:
            raise ColumnRuleError("There is no such segment.")
        with transaction.atomic():
            Segment.objects.filter(column=self, index__gte=index).delete()
            return Segment.objects.create(
                column=self,
                index=index,
                prefix=segment.prefix,
                reasoning_prefix=segment.reasoning_prefix,
                tool_results=segment.tool_results,  # an answer, retried, sends its results again
            )


class SegmentQuerySet(models.QuerySet["Segment"]):
    def beat(self, holder: str, texts: dict[int, tuple[str, str]]) -> int:
        """Renew `holder`'s lease on every segment it streams; save the given texts so far.

        One UPDATE for the whole process, whatever it streams: the heartbeat time for all of
        the holder's running segments, and (text, reasoning) for the ids in `texts`, the
        segments whose text grew since the last beat. A finished segment is never touched.
        """
        if connection.vendor == "postgresql":
            return self._beat_postgresql(holder, texts)
        fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if texts:
            fields["text"] = Case(
                *(When(pk=pk, then=Value(text)) for pk, (text, _) in texts.items()),
                default=F("text"),
                output_field=models.TextField(),
            )
            fields["reasoning"] = Case(
                *(When(pk=pk, then=Value(reasoning)) for pk, (_, reasoning) in texts.items()),
                default=F("reasoning"),
                output_field=models.TextField(),
            )
        return self.filter(holder=holder, status=SegmentStatus.RUNNING).update(**fields)

    def _beat_postgresql(self, holder: str, texts: dict[int, tuple[str, str]]) -> int:
        """`beat` as one statement with the texts in one JSON parameter (PostgreSQL).

        Building a `CASE` of a `When` per live segment cost ~4 % of the site's CPU at 300 live
        columns (bench/relay.py with --profile). Three arrays cost less, but the client-side
        binding quotes every element in Python; one JSON text is made and quoted in C: 2.3 ->
        1.2 ms per beat of 300 columns.
        """
        table = Segment._meta.db_table
        rows = json.dumps([[pk, text, reasoning] for pk, (text, reasoning) in texts.items()])
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH beat AS (SELECT (row->>0)::bigint AS id, row->>1 AS text,"
                " row->>2 AS reasoning FROM json_array_elements(%s::json) AS row)"
                f" UPDATE {table} SET heartbeat_at = %s,"
                f" text = COALESCE((SELECT text FROM beat WHERE beat.id = {table}.id),"
                f" {table}.text), reasoning = COALESCE("
                f"(SELECT reasoning FROM beat WHERE beat.id = {table}.id), {table}.reasoning)"
                # SKIP LOCKED: a segment whose stream is saving its outcome right now needs no
                # beat, and waiting for it while holding other rows deadlocked with that save.
                f" WHERE id IN (SELECT id FROM {table} WHERE holder = %s AND status = %s"
                " FOR UPDATE SKIP LOCKED)",
                [rows, timezone.now(), holder, SegmentStatus.RUNNING],
            )
            return int(cursor.rowcount)

    def interrupt_abandoned(self) -> int:
        """Mark segments nobody streams any more interrupted, refresh their runs; return count.

        Two kinds: a running segment whose lease expired (its process stopped renewing it:
        crash, kill, lost network; RUN_LEASE_SECONDS) keeps the text its last heartbeat saved;
        a pending segment whose stream was never opened within RUN_UNOPENED_GRACE_SECONDS
        (the page was closed at once). One UPDATE ... RETURNING when there is nothing to do.
        """
        now = timezone.now()
        lease_cutoff = now - timedelta(seconds=settings.RUN_LEASE_SECONDS)
        grace_cutoff = now - timedelta(seconds=settings.RUN_UNOPENED_GRACE_SECONDS)
        # One transaction: nobody sees a segment interrupted while its run still says running.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Segment._meta.db_table} SET status = %s, finished_at = %s"
                " WHERE (status = %s AND COALESCE(heartbeat_at, started_at, created_at) < %s)"
                " OR (status = %s AND created_at < %s)"
                " RETURNING column_id",
                [
                    SegmentStatus.INTERRUPTED,
                    now,
                    SegmentStatus.RUNNING,
                    lease_cutoff,
                    SegmentStatus.PENDING,
                    grace_cutoff,
                ],
            )
            columns = {row[0] for row in cursor.fetchall()}
            if columns:
                for run in Run.objects.filter(columns__in=columns).distinct():
                    run.refresh_status()
        return len(columns)


class Segment(models.Model):
    """One request to the provider and what came back."""

    column = models.ForeignKey(RunColumn, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveSmallIntegerField(default=0)
    # The prefix this segment continued from: the run's prefix, or (Continue) prefix + text so far.
    prefix = models.TextField(blank=True)
    reasoning_prefix = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=SegmentStatus.choices, default=SegmentStatus.PENDING
    )
    text = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    stop_sequence = models.CharField(max_length=200, blank=True)
    error_kind = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    notes = models.JSONField(default=list, blank=True)
    # How the stream finished when it did, short phrases: "1 unreadable chunk skipped".
    caveats = models.JSONField(default=list, blank=True)
    # The tool calls the model made, saved when the segment ends: [{"id", "name", "arguments"}]
    # with the arguments' JSON text exactly as streamed (runs/tool_calls.py reads them).
    tool_calls = models.JSONField(default=list, blank=True)
    # An answer to the previous segment's calls (runs/tool_answers.py): the results this segment
    # sent back, in call order, [{"call_id", "content"}], scrubbed of the column's key; empty
    # for every other segment.
    tool_results = models.JSONField(default=list, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # What Inspect shows: the request as sent (key redacted) and the raw response, truncated.
    request_dump = models.JSONField(null=True, blank=True)
    response_raw = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease of a streaming segment: which process streams it (playground/runs/live.py
    # process_id()) and when that process last said so. Expired leases are swept.
    holder = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        ordering = ["column", "index"]
        constraints = [
            models.UniqueConstraint(fields=["column", "index"], name="one_segment_per_index")
        ]
        # The sweep and the heartbeat only look at live segments: a small partial index.
        indexes = [
            models.Index(
                fields=["status", "holder"],
                name="segment_live",
                condition=Q(status__in=[SegmentStatus.PENDING, SegmentStatus.RUNNING]),
            )
        ]

    def __str__(self) -> str:
        return f"Segment {self.index} of column {self.column_id} ({self.status})"

    @property
    def state(self) -> SegmentStatus:
        """Return the status as its choice, which knows what it means (status.py)."""
        return SegmentStatus(self.status)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_SEGMENT_STATUSES

    @property
    def verdict(self) -> ColumnVerdict:
        return ColumnVerdict(self.status, tuple(self.caveats or ()))

    @property
    def tokens_per_second(self) -> float | None:
        """Return output tokens per second of generation (after the first token), if known."""
        if not self.output_tokens or self.elapsed_ms is None or self.ttft_ms is None:
            return None
        seconds = (self.elapsed_ms - self.ttft_ms) / 1000
        return round(self.output_tokens / seconds, 1) if seconds > 0 else None

    @property
    def error_title(self) -> str:
        """Return a short heading for the segment's error kind."""
        return error_title(self.error_kind)

    @property
    def can_continue(self) -> bool:
        """Return whether Continue may pick up after this segment.

        After the token limit, and after an interruption that saved some text (the server
        streaming it went away): the continuation starts from the text saved so far.
        """
        if self.status == SegmentStatus.INTERRUPTED:
            return bool(self.text)
        return self.status == SegmentStatus.DONE and self.finish_reason == "length"

    @property
    def never_streamed(self) -> bool:
        return self.started_at is None


def summarize(columns: Iterable[RunColumn]) -> RunSummary:
    """Return the summary of these columns (a run's, in position order)."""
    return RunSummary(tuple(column.verdict for column in columns))


def cost_of(
    input_tokens: int | None,
    output_tokens: int | None,
    price_in: float | None,
    price_out: float | None,
) -> Decimal | None:
    """Return the cost of a request from per-million-token prices, or None when unknown."""
    if price_in is None or price_out is None or input_tokens is None or output_tokens is None:
        return None
    total = Decimal(str(price_in)) * input_tokens + Decimal(str(price_out)) * output_tokens
    return (total / Decimal(1_000_000)).quantize(Decimal("0.000001"))


class ImageUploadQuerySet(models.QuerySet["ImageUpload"]):
    def store(self, user: User, uploaded: File[bytes]) -> ImageUpload:
        """Save an uploaded file for `user` if it is an acceptable image; return it.

        Raise images.RejectedImage, with a message for the page, when it is not.
        """
        from .images import check, check_quota, check_size

        check_size(uploaded.size)  # before reading it into memory
        with transaction.atomic():
            # Lock the user's row so two uploads at once cannot both squeeze under the quota.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            usage = self.filter(user=user).aggregate(count=models.Count("id"), size=Sum("size"))
            check_quota(usage["count"], usage["size"] or 0, uploaded.size)
            data = bytes(uploaded.read())
            content_type = check(data)
            return self.create(
                user=user,
                name=str(uploaded.name)[:200],
                content_type=content_type,
                data=data,
                size=len(data),
            )


class ImageUpload(models.Model):
    """An image a user uploaded for a turn, kept in the database and sent as a data: URL.

    In the database rather than on disk, so every web process (and every dyno) can read it.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="image_uploads"
    )
    name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=40)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImageUploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name or 'image'} ({self.content_type}, {self.size} bytes)"

    @property
    def reference(self) -> str:
        """Return how a turn refers to this upload among its image URLs."""
        return f"{UPLOAD_SCHEME}{self.code}"

    def data_url(self) -> str:
        """Return the image as a base64 data: URL, the form providers accept inline."""
        encoded = base64.b64encode(bytes(self.data)).decode("ascii")
        return f"data:{self.content_type};base64,{encoded}"


UPLOAD_SCHEME = "upload:"


# Verdicts and reference pins are run models too; they live in their own module.
from playground.runs.verdicts import ReferencePin as ReferencePin  # noqa: E402
from playground.runs.verdicts import Verdict as Verdict  # noqa: E402
