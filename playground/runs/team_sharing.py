"""Sharing a run with a team: the owner's form on the run page, and what a member sees there.

The rules are the Run model's (`share_with`, `visible_to`); this module reads the form and
says what the run page shows to its owner and to a member of the team it is shared with.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from playground.accounts.models import Team, User
from playground.htmx import AuthedRequest

from .models import Run, SharingRefused
from .verdicts import ReferencePin


def share_context(user: User, run: Run) -> dict[str, Any]:
    """Return what the run page needs about sharing and pinning for `user` (owner or member)."""
    owner = run.is_owned_by(user)
    return {
        "guest": not owner,
        "share_teams": list(Team.objects.for_user(user)) if owner else [],
        "suggested_team": run.suggested_team(user) if owner and run.team_id is None else None,
        **ReferencePin.objects.offer(user, run),
    }


def _chosen_team(user: User, value: str) -> Team | None:
    """Return the team `value` (a team's code) names among `user`'s; raise SharingRefused."""
    if not value:
        return None
    try:
        code = UUID(value)
    except ValueError:
        raise SharingRefused("Choose one of your teams.") from None
    team = Team.objects.for_user(user).filter(code=code).first()
    if team is None:
        raise SharingRefused("You can share a run only with a team you are a member of.")
    return team


@require_POST
def share_with_team(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Share the user's run with one of their teams, or make it private again."""
    run = get_object_or_404(Run.objects.for_user(request.user), code=code)
    error = ""
    try:
        team = (
            None
            if request.POST.get("action") == "private"
            else (_chosen_team(request.user, request.POST.get("team", "")))
        )
        run.share_with(request.user, team)
    except SharingRefused as refused:
        error = str(refused)
    if not request.htmx and not error:
        return redirect("runs:detail", code=run.code)
    context = {"run": run, **share_context(request.user, run), "share_error": error}
    return render(request, "runs/_share_team.html", context, status=422 if error else 200)
