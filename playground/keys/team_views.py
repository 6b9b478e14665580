"""Team credentials: the team's keys, adding and deleting them, budgets, usage and the audit trail.

Who may do what is decided by `Membership.may_*` (playground/accounts/models.py): outsiders get
404, members without the right 403. No page ever renders a team key, to anyone: members see its
label and provider, owners its last four characters as well.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.accounts.models import Membership, Team
from playground.htmx import AuthedRequest

from .audit_csv import audit_csv
from .forms import CredentialForm, ReplaceKeyForm
from .models import Credential, TeamBudget, TeamUse
from .team_forms import BudgetForm, TeamKeySettingsForm
from .usage import month_start, stop_uses
from .usage_chart import daily_chart

AUDIT_ROWS = 100
CSV_ROWS = 50_000  # a month of heavy use; the export never reads more than this


def _membership(request: AuthedRequest, code: UUID) -> Membership:
    """Return the user's membership of team `code`; 404 unless the user is a member."""
    return get_object_or_404(
        Membership.objects.select_related("team"), team__code=code, user=request.user
    )


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("Your role in this team does not allow this.")


def _team_credential(team: Team, code: UUID) -> Credential:
    return get_object_or_404(Credential.objects.of_team(team).select_related("user"), code=code)


def _keys_context(me: Membership, **extra: Any) -> dict[str, Any]:
    team = me.team
    mine = TeamUse.objects.this_month().for_member(team, me.user)
    budget = TeamBudget.objects.filter(team=team, user=me.user).first()
    return {
        "team": team,
        "me": me,
        "credentials": Credential.objects.of_team(team).select_related("user"),
        "form": CredentialForm() if me.may_add_credentials else None,
        "settings_form": TeamKeySettingsForm(instance=team) if me.may_manage_credentials else None,
        "my_tokens": mine.counted_tokens(),
        "my_budget": budget,
        "month": month_start(),
        **extra,
    }


@require_GET
def team_keys(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the team's keys: every member sees them (never their secret) and their own use."""
    me = _membership(request, code)
    return render(request, "keys/team.html", _keys_context(me))


@require_POST
@sensitive_post_parameters("api_key")
def team_add(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Add a credential to the team (owners; editors when the team allows it)."""
    me = _membership(request, code)
    _require(me.may_add_credentials)
    form = CredentialForm(request.POST)
    if not form.is_valid():
        return render(request, "keys/team.html", _keys_context(me, form=form))
    credential = form.save(commit=False)
    credential.user = request.user
    credential.team = me.team
    credential.set_key(form.cleaned_data["api_key"])
    credential.save()
    messages.success(
        request,
        f"Added “{credential.label}” to {me.team.name}. Members can run with it; nobody can "
        "see the key.",
    )
    return redirect("teamkeys:index", code=me.team.code)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("api_key")
def team_replace_key(request: AuthedRequest, code: UUID, credential: UUID) -> HttpResponse:
    """Replace a team credential's key (owners). The form never shows the old one."""
    me = _membership(request, code)
    _require(me.may_manage_credentials)
    instance = _team_credential(me.team, credential)
    form = ReplaceKeyForm(request.POST if request.method == "POST" else None, instance=instance)
    if form.is_bound and form.is_valid():
        form.save()
        messages.success(request, f"Replaced the key of “{instance.label}”.")
        return redirect("teamkeys:index", code=me.team.code)
    context = {
        "team": me.team,
        "credential": instance,
        "form": form,
        "title": "Replace the key",
        "action_url": reverse("teamkeys:replace_key", args=[me.team.code, instance.code]),
        "back_url": reverse("teamkeys:index", args=[me.team.code]),
    }
    return render(request, "keys/team_edit.html", context)


@require_http_methods(["GET", "POST"])
def team_delete(request: AuthedRequest, code: UUID, credential: UUID) -> HttpResponse:
    """Confirm (GET) or delete (POST) a team credential (owners); its use ends everywhere."""
    me = _membership(request, code)
    _require(me.may_manage_credentials)
    instance = _team_credential(me.team, credential)
    if request.method == "GET":
        context = {"team": me.team, "credential": instance}
        return render(request, "keys/team_delete.html", context)
    label = instance.label
    instance.delete()  # keys/signals.py stops its columns in flight once this commits
    messages.success(request, f"Deleted “{label}”. Runs in flight with it were stopped.")
    return redirect("teamkeys:index", code=me.team.code)


@require_POST
def team_settings(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Save whether editors may add team keys (owners)."""
    me = _membership(request, code)
    _require(me.may_manage_credentials)
    form = TeamKeySettingsForm(request.POST, instance=me.team)
    if form.is_valid():
        form.save()
        allowed = "may" if me.team.editors_add_credentials else "may no longer"
        messages.success(request, f"Editors {allowed} add keys to {me.team.name}.")
    return redirect("teamkeys:index", code=me.team.code)


def _usage_context(me: Membership, **extra: Any) -> dict[str, Any]:
    team = me.team
    month = TeamUse.objects.filter(team=team).this_month()
    by_member = month.totals_by("user_id")
    by_credential = month.totals_by("credential_id")
    budgets = list(TeamBudget.objects.filter(team=team))
    member_budgets = {b.user_id: b for b in budgets if b.user_id is not None}
    credential_budgets = {b.credential_id: b for b in budgets if b.credential_id is not None}
    forms: dict[str, BudgetForm] = extra.pop("forms", {})

    def budget_form(key: str, budget: TeamBudget | None) -> BudgetForm:
        return forms.get(key) or BudgetForm(
            prefix=key, initial={"monthly_tokens": budget.monthly_tokens if budget else None}
        )

    members = []
    for membership in team.memberships.select_related("user").order_by("user__username"):
        budget = member_budgets.get(membership.user_id)
        totals = by_member.get(membership.user_id)
        members.append(
            {
                "membership": membership,
                "totals": totals,
                "budget": budget,
                "share": _share(totals.tokens if totals else 0, budget),
                "form": budget_form(f"m{membership.user_id}", budget),
            }
        )
    credentials = []
    for credential in Credential.objects.of_team(team):
        budget = credential_budgets.get(credential.pk)
        totals = by_credential.get(credential.pk)
        credentials.append(
            {
                "credential": credential,
                "totals": totals,
                "budget": budget,
                "share": _share(totals.tokens if totals else 0, budget),
                "form": budget_form(f"c{credential.pk}", budget),
            }
        )
    return {
        "team": team,
        "me": me,
        "members": members,
        "credentials": credentials,
        "chart": daily_chart(TeamUse.objects.filter(team=team)),
        "audit": TeamUse.objects.filter(team=team)[:AUDIT_ROWS],
        "month": month_start(),
        **extra,
    }


def _share(tokens: int, budget: TeamBudget | None) -> int | None:
    """Return how much of the budget is used, in percent (capped at 100), or None."""
    if budget is None:
        return None
    return min(100, round(100 * tokens / budget.monthly_tokens))


@require_GET
def team_usage(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return usage per member and per credential, the budgets and the audit trail (owners)."""
    me = _membership(request, code)
    _require(me.may_see_usage)
    return render(request, "keys/team_usage.html", _usage_context(me))


@require_POST
def team_budget(request: AuthedRequest, code: UUID, kind: str, pk: int) -> HttpResponse:
    """Set or clear the monthly budget of a member (`m`) or a credential (`c`) (owners).

    A budget lowered below what is already used this month stops the columns in flight that
    count against it; their text is kept.
    """
    me = _membership(request, code)
    _require(me.may_manage_credentials)
    team = me.team
    if pk >= 2**63:  # past any id: an integer the database cannot even compare
        raise Http404("No such member or key.")
    if kind == "m":
        subject = get_object_or_404(team.memberships.select_related("user"), user_id=pk)
        lookup: dict[str, Any] = {"team": team, "user": subject.user, "credential": None}
        name = subject.user.get_username()
    elif kind == "c":
        credential = get_object_or_404(Credential.objects.of_team(team), pk=pk)
        lookup = {"team": team, "credential": credential, "user": None}
        name = f"“{credential.label}”"
    else:
        raise PermissionDenied("No such budget.")
    form = BudgetForm(request.POST, prefix=f"{kind}{pk}")
    if not form.is_valid():
        context = _usage_context(me, forms={f"{kind}{pk}": form})
        return render(request, "keys/team_usage.html", context, status=400)
    tokens = form.cleaned_data["monthly_tokens"]
    with transaction.atomic():
        if tokens is None:
            TeamBudget.objects.filter(**lookup).delete()
        else:
            budget, _ = TeamBudget.objects.update_or_create(
                **lookup, defaults={"monthly_tokens": tokens}
            )
            if budget.used_this_month() > tokens:
                uses = TeamUse.objects.filter(team=team)
                uses = (
                    uses.filter(credential=lookup["credential"])
                    if kind == "c"
                    else uses.filter(user=lookup["user"])
                )
                transaction.on_commit(lambda: stop_uses(uses))
    if tokens is None:
        messages.success(request, f"{name} has no monthly budget now.")
    else:
        messages.success(request, f"{name} may use {tokens:,} tokens a month.")
    return redirect(f"{reverse('teamkeys:usage', args=[team.code])}#budgets")


@require_GET
def team_audit_csv(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the team's audit trail as a CSV download (owners): no secret, no formula."""
    me = _membership(request, code)
    _require(me.may_see_usage)
    uses = TeamUse.objects.filter(team=me.team)[:CSV_ROWS]
    response = HttpResponse(audit_csv(uses), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="team-{me.team.code}-audit.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
