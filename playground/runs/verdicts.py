"""Verdicts on runs and reference continuations pinned to templates (docs/verdicts.md).

A verdict is one member's judgement of one run: the columns ranked best first (at least the
best one) and a note. Each viewer gives their own; a blind run hides provider and model names
from a viewer until that viewer's verdict exists. A reference pin marks one column of a run as
its template's reference continuation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from playground.accounts.models import User
    from playground.runs.models import Run

MAX_NOTE_CHARS = 4000


class VerdictQuerySet(models.QuerySet["Verdict"]):
    def by(self, user: User) -> VerdictQuerySet:
        """Return the verdicts `user` gave."""
        return self.filter(user=user)

    def given(self, run: Run, user: User) -> bool:
        """Return whether `user` has given a verdict on `run`."""
        return self.filter(run=run, user=user).exists()


class Verdict(models.Model):
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="verdicts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verdicts"
    )
    # Column positions, best first: one entry picks the best, more rank them.
    ranking = models.JSONField(default=list)
    note = models.TextField(blank=True, max_length=MAX_NOTE_CHARS)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VerdictQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "user"], name="one_verdict_per_viewer")
        ]
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"verdict of {self.user_id} on {self.run_id}"

    @property
    def best(self) -> int | None:
        """Return the position of the column picked as best, or None for an empty ranking."""
        return int(self.ranking[0]) if self.ranking else None


class ReferencePin(models.Model):
    """A template's reference continuation: one column of one run, pinned by a member."""

    template = models.OneToOneField(
        "prompts.PrefixTemplate", on_delete=models.CASCADE, related_name="reference_pin"
    )
    column = models.ForeignKey("runs.RunColumn", on_delete=models.CASCADE, related_name="+")
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    pinned_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reference of {self.template_id}: column {self.column_id}"
