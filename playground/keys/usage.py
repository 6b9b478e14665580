"""What team credentials are used for, and how much of it a month may hold.

`TeamUse` is one row per request a column sends with a team credential. It is written when the
run (or the Continue / Retry) is created, as a reservation of the tokens the request may spend,
and settled when the column's stream ends, with the tokens and cost it really spent. The same
rows are the usage table, the chart and the audit trail. `TeamBudget` is a monthly token limit
on one member (all the team's credentials together) or on one credential (all members together).
The rules that read them live on their querysets; docs/team-credentials.md explains the design.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, F, Q, Sum, When
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

if TYPE_CHECKING:
    from playground.accounts.models import Team, User

    from .models import Credential


def month_start(now: datetime | None = None) -> datetime:
    """Return the start of the current calendar month in the site's time zone."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _charge() -> Case:
    """Return what one use counts against a budget, as an SQL expression.

    A settled use counts what it spent (nothing when its request was never sent); an open one
    counts its whole reservation, also when its stream died without being settled.
    """
    return Case(
        When(settled_at__isnull=False, then=F("tokens")),
        default=F("reserved_tokens"),
        output_field=models.BigIntegerField(),
    )


@dataclass
class Totals:
    requests: int = 0
    tokens: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)

    @property
    def cost_display(self) -> str:
        parts = [f"{total.normalize():f} {currency}" for currency, total in self.cost.items()]
        return " + ".join(parts)


class TeamUseQuerySet(models.QuerySet["TeamUse"]):
    def this_month(self) -> TeamUseQuerySet:
        """Return the uses since the start of the current month."""
        return self.filter(created_at__gte=month_start())

    def counted_tokens(self) -> int:
        """Return the tokens these uses count against a budget (see `_charge`)."""
        total = self.aggregate(total=Coalesce(Sum(_charge()), 0))["total"]
        return int(total)

    def totals_by(self, key: str) -> dict[Any, Totals]:
        """Return requests, counted tokens and cost per currency of these uses, per `key`."""
        totals: dict[Any, Totals] = {}
        rows = (
            self.order_by()
            .values(key, "currency")
            .annotate(requests=Count("id"), tokens=Coalesce(Sum(_charge()), 0), cost=Sum("cost"))
        )
        for row in rows:
            entry = totals.setdefault(row[key], Totals())
            entry.requests += row["requests"]
            entry.tokens += int(row["tokens"])
            if row["cost"] is not None:
                entry.cost[row["currency"] or "?"] = row["cost"]
        return totals

    def for_member(self, team: Team, user: User) -> TeamUseQuerySet:
        return self.filter(team=team, user=user)

    def for_credential(self, credential: Credential) -> TeamUseQuerySet:
        return self.filter(credential=credential)

    def open(self) -> TeamUseQuerySet:
        """Return the uses whose stream has not ended (reserved, possibly streaming)."""
        return self.filter(settled_at__isnull=True)


class TeamUse(models.Model):
    """One request sent (or about to be sent) with a team credential: reservation, usage, audit."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="uses")
    # Kept when the credential, the member or the run is deleted: the trail outlives them.
    credential = models.ForeignKey(
        "keys.Credential", null=True, on_delete=models.SET_NULL, related_name="uses"
    )
    credential_label = models.CharField(max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    run = models.ForeignKey("runs.Run", null=True, on_delete=models.SET_NULL, related_name="+")
    run_code = models.UUIDField(default=uuid.uuid4)
    segment = models.ForeignKey(
        "runs.Segment", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The most this request may spend: the input estimate plus the output tokens it may ask for.
    input_estimate = models.PositiveIntegerField(default=0)
    reserved_tokens = models.PositiveIntegerField(default=0)
    # Set when a budget capped the request's max_tokens to what was left of it.
    output_cap = models.PositiveIntegerField(null=True, blank=True)
    # Filled in when the stream ends.
    started = models.BooleanField(default=False)
    status = models.CharField(max_length=12, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    tokens = models.PositiveIntegerField(default=0)  # what it counts against budgets
    tokens_estimated = models.BooleanField(default=False)  # no usage report: counted from text
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = TeamUseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "user", "created_at"], name="teamuse_member_month"),
            models.Index(fields=["credential", "created_at"], name="teamuse_credential_month"),
        ]

    def __str__(self) -> str:
        return f"{self.username} used {self.credential_label} for {self.model}"

    @property
    def cost_display(self) -> str:
        if self.cost is None:
            return ""
        return f"{self.cost.normalize():f} {self.currency}".strip()


class TeamBudgetQuerySet(models.QuerySet["TeamBudget"]):
    def applying_to(self, credential: Credential, user_id: int) -> TeamBudgetQuerySet:
        """Return the budgets a use of `credential` by user `user_id` counts against."""
        return self.filter(
            Q(credential=credential)
            | Q(team_id=credential.team_id, user_id=user_id, credential=None)
        )


class TeamBudget(models.Model):
    """A monthly token limit: on one member of a team, or on one team credential."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="budgets")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    credential = models.ForeignKey(
        "keys.Credential", null=True, blank=True, on_delete=models.CASCADE, related_name="budgets"
    )
    monthly_tokens = models.PositiveBigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamBudgetQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True) ^ Q(credential__isnull=True),
                name="teambudget_member_xor_credential",
            ),
            models.UniqueConstraint(
                fields=["team", "user"],
                condition=Q(user__isnull=False),
                name="one_budget_per_member",
            ),
            models.UniqueConstraint(
                fields=["credential"],
                condition=Q(credential__isnull=False),
                name="one_budget_per_credential",
            ),
        ]

    def __str__(self) -> str:
        who = self.credential.label if self.credential else str(self.user)
        return f"{who}: {self.monthly_tokens:,} tokens a month"

    def used_this_month(self) -> int:
        """Return the tokens counted against this budget this month (reservations included)."""
        uses = TeamUse.objects.this_month()
        if self.credential_id is not None:
            uses = uses.filter(credential_id=self.credential_id)
        else:
            uses = uses.filter(team_id=self.team_id, user=self.user)
        return uses.counted_tokens()

    @property
    def subject(self) -> str:
        if self.credential is not None:
            return f"the team key “{self.credential.label}”"
        return f"your monthly allowance on {self.team.name}'s keys"


def columns_in_flight(uses: TeamUseQuerySet) -> dict[str, set[int]]:
    """Return the columns (run code: positions) of these uses whose stream has not ended."""
    columns: dict[str, set[int]] = {}
    for code, position in uses.open().values_list("run_code", "position"):
        columns.setdefault(str(code), set()).add(position)
    return columns


# Sent with `columns` (run code: positions) to stop; the runs app, which sits above keys,
# receives it and presses its Stop (playground/runs/apps.py), so the columns keep their text.
columns_to_stop = Signal()


def stop_columns(columns: dict[str, set[int]]) -> None:
    """Stop these columns wherever they stream.

    A column not streaming yet is refused when its stream is planned
    (playground/runs/team_keys.py, gate_team_column).
    """
    if columns:
        columns_to_stop.send(sender=TeamUse, columns=columns)


def stop_uses(uses: TeamUseQuerySet) -> None:
    """Stop, wherever they stream, the columns of these uses that have not ended."""
    stop_columns(columns_in_flight(uses))
