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
    from playground.prompts.models import PrefixTemplate
    from playground.runs.models import Run, RunColumn

MAX_NOTE_CHARS = 4000


class VerdictRefused(ValueError):
    """A verdict the rules do not allow; the message says why, in words for the page."""


def ranking_problem(run: Run, ranking: list[int]) -> str:
    """Return why `ranking` is no ranking of `run`'s columns, or "" when it is one.

    A ranking names at least one column (the best) and at most all of them, each once.
    """
    positions = set(run.columns.values_list("position", flat=True))
    if not ranking:
        return "Pick the best column (rank one column 1st)."
    if len(ranking) > len(positions):
        return f"This run has {len(positions)} columns; a ranking names each at most once."
    if len(set(ranking)) != len(ranking):
        return "A ranking names each column at most once."
    if not set(ranking) <= positions:
        return "That ranking names a column this run does not have."
    return ""


class VerdictQuerySet(models.QuerySet["Verdict"]):
    def by(self, user: User) -> VerdictQuerySet:
        """Return the verdicts `user` gave."""
        return self.filter(user=user)

    def given(self, run: Run, user: User) -> bool:
        """Return whether `user` has given a verdict on `run`."""
        return self.filter(run=run, user=user).exists()

    def record(self, run: Run, user: User, ranking: list[int], note: str = "") -> Verdict:
        """Save `user`'s verdict on `run` (replacing their earlier one) and return it.

        The rules, in one place: the run must be one `user` may open
        (`Run.objects.visible_to`), it must have ended (a column still streaming cannot be
        judged), the ranking must name the run's columns (`ranking_problem`) and the note fit
        MAX_NOTE_CHARS. Raise VerdictRefused saying which rule failed.
        """
        from playground.runs.models import Run

        if not Run.objects.visible_to(user).filter(pk=run.pk).exists():
            raise VerdictRefused("You cannot give a verdict on this run.")
        run.refresh_from_db(fields=["status"])
        if run.state.is_running:
            raise VerdictRefused("This run is still streaming; give your verdict when it ends.")
        problem = ranking_problem(run, ranking)
        if problem:
            raise VerdictRefused(problem)
        if len(note) > MAX_NOTE_CHARS:
            raise VerdictRefused(
                f"The note is {len(note):,} characters; the most is {MAX_NOTE_CHARS:,}."
            )
        verdict, _ = self.update_or_create(
            run=run, user=user, defaults={"ranking": list(ranking), "note": note}
        )
        return verdict


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


class PinRefused(ValueError):
    """The member may not pin (or unpin) that column; the message says why."""


class ReferencePinQuerySet(models.QuerySet["ReferencePin"]):
    def pin_problem(self, user: User, run: Run) -> str:
        """Return why `user` may not pin a column of `run` ("" when they may).

        The rules, in one place: the run is one `user` may open and was made from a template,
        `user` may edit that template (prompts' rules), and a blind run has `user`'s verdict
        first (a pin names the column's target). `pin` adds that the column has finished.
        """
        from playground.runs.models import Run

        if not Run.objects.visible_to(user).filter(pk=run.pk).exists():
            return "You cannot open this run."
        template = run.template
        if template is None:
            return "This run was not made from a template, so there is nothing to pin it to."
        if not template.can_edit(user):
            return "Only those who may edit the template can pin its reference."
        if run.blind and not Verdict.objects.given(run, user):
            return "Give your verdict on this blind run before pinning one of its columns."
        return ""

    def pin(self, user: User, column: RunColumn) -> ReferencePin:
        """Make `column` its run's template's reference continuation; raise PinRefused if not."""
        run = column.run
        problem = self.pin_problem(user, run)
        if not problem and (column.is_busy or not column.text):
            problem = "Only a finished column with some text can be pinned."
        if problem or run.template is None:
            raise PinRefused(problem)
        pin, _ = self.update_or_create(
            template=run.template, defaults={"column": column, "pinned_by": user}
        )
        return pin

    def unpin(self, user: User, template: PrefixTemplate) -> None:
        """Remove `template`'s reference; raise PinRefused unless `user` may edit the template."""
        if not template.can_edit(user):
            raise PinRefused("Only those who may edit the template can remove its reference.")
        self.filter(template=template).delete()

    def offer(self, user: User, run: Run) -> dict[str, object]:
        """Return what a column's "Pin as reference" needs for `user` on `run` (templates/runs/
        _pin.html): whether they may pin, and the position already pinned in this run."""
        pinned = (
            self.filter(template_id=run.template_id, column__run=run)
            .values_list("column__position", flat=True)
            .first()
            if run.template_id
            else None
        )
        return {"may_pin": not self.pin_problem(user, run), "pinned_position": pinned}

    def shown_to(self, user: User, template: PrefixTemplate) -> ReferencePin | None:
        """Return `template`'s pin if `user` may open its run (else None: the run is not theirs
        to read, perhaps no longer shared with them)."""
        from playground.runs.models import Run

        pin: ReferencePin | None = (
            self.filter(template=template, column__run__in=Run.objects.visible_to(user))
            .select_related("column__run", "pinned_by")
            .first()
        )
        return pin


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

    objects = ReferencePinQuerySet.as_manager()

    def __str__(self) -> str:
        return f"reference of {self.template_id}: column {self.column_id}"
