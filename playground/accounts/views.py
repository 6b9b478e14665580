"""Landing, home, sign-up and team pages. Team rules live on the models; views parse and render."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from playground.htmx import AuthedRequest, HtmxHttpRequest
from playground.offline import offers_offline_demo
from playground.providers.catalog import get_provider, provider_choices

from . import ratelimits
from .forms import InviteForm, RoleForm, SignupForm, TeamForm
from .models import Invite, Membership, Role, Team, TeamRuleError


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Render the 404 page, then close this thread's database connection (outside a transaction).

    Under ASGI, Django renders the 404 for a path that no URL matches in a worker thread of its
    own (convert_exception_to_response runs it with thread_sensitive=False), where the end of
    the request never closes the connection the page's user lookup opened.
    """
    response = defaults.page_not_found(request, exception)
    if not connection.in_atomic_block:
        connection.close()
    return response


def _get_team_for_member(request: AuthedRequest, code: UUID) -> tuple[Team, Membership]:
    """Return the team and the user's membership in it; 404 unless the user is a member."""
    me = get_object_or_404(
        Membership.objects.select_related("team"), team__code=code, user=request.user
    )
    return me.team, me


def _get_team_for_owner(request: AuthedRequest, code: UUID) -> tuple[Team, Membership]:
    """Return the team and the user's membership; 404 for outsiders, 403 for non-owners."""
    team, me = _get_team_for_member(request, code)
    if not me.is_owner:
        raise PermissionDenied("Only the team's owners can do this.")
    return team, me


def _team_context(team: Team, me: Membership, **extra: Any) -> dict[str, Any]:
    """Return the team page's context; owners also get the invites and the rename form."""
    members = list(team.memberships.select_related("user").order_by("user__username"))
    context: dict[str, Any] = {
        "team": team,
        "me": me,
        "members": members,
        "owner_count": sum(member.is_owner for member in members),
        "roles": Role.choices,
    }
    if me.is_owner:
        context["invites"] = team.invites.pending().select_related("created_by")
        context["rename_form"] = TeamForm(instance=team)
        context["invite_form"] = InviteForm()
    return context | extra


def _redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Return a redirect; htmx follows it with a full page load."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _next_url(request: HttpRequest) -> str:
    """Return the safe `next` URL of the request, or ""."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if safe else ""


@login_not_required
@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """Return the public landing page; signed-in visitors go home."""
    if request.user.is_authenticated:
        return redirect("home")
    catalog = [get_provider(provider_id) for provider_id, _ in provider_choices()]
    return render(
        request,
        "accounts/landing.html",
        {
            "speaks": [p for p in catalog if p.supports_prefix],
            "unsupported": [p for p in catalog if not p.supports_prefix],
            "offline_demo": offers_offline_demo(),
        },
    )


@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    """Return the signed-in user's dashboard: the get-started checklist and their teams."""
    # The key vault is another app; until its Credential model exists the step stays unmarked.
    has_key = hasattr(request.user, "credentials") and request.user.credentials.exists()
    memberships = Membership.objects.for_user(request.user)
    return render(request, "accounts/home.html", {"has_key": has_key, "memberships": memberships})


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Return the sign-up form; a valid one creates the account and logs it in."""
    if request.user.is_authenticated:
        return redirect("home")
    if request.method == "POST" and (refusal := ratelimits.check(request, "signup")):
        # Not validated: the refusal says nothing about whether the username is taken.
        typed = {name: request.POST.get(name, "")[:254] for name in ("username", "email")}
        context = {"form": SignupForm(initial=typed), "next": _next_url(request)}
        return ratelimits.refused(request, "registration/signup.html", context, refusal)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Your account is ready.")
        return redirect(_next_url(request) or "home")
    return render(request, "registration/signup.html", {"form": form, "next": _next_url(request)})


_password_change_view = PasswordChangeView.as_view(
    success_url=reverse_lazy("accounts:password_change_done")
)


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_change(request: AuthedRequest) -> HttpResponseBase:
    """Return Django's password change page; POSTs are rate limited per user."""
    if request.method == "POST" and (refusal := ratelimits.check(request, "password_change")):
        context = {"form": PasswordChangeForm(request.user)}
        return ratelimits.refused(
            request, "registration/password_change_form.html", context, refusal
        )
    return _password_change_view(request)


@require_GET
def teams(request: AuthedRequest) -> HttpResponse:
    """Return the list of the user's teams with the new-team form."""
    memberships = Membership.objects.for_user(request.user)
    return render(request, "accounts/teams.html", {"memberships": memberships, "form": TeamForm()})


@require_http_methods(["GET", "POST"])
def team_create(request: AuthedRequest) -> HttpResponse:
    """Return the new-team form; a valid one creates the team, owned by the user."""
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = Team.objects.create_with_owner(request.user, form.cleaned_data["name"])
        messages.success(request, f"Created {team.name}. You are its owner.")
        return redirect("accounts:team_detail", code=team.code)
    return render(request, "accounts/team_new.html", {"form": form})


@require_GET
def team_detail(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return a team's page: members, and for owners invites and settings."""
    team, me = _get_team_for_member(request, code)
    return render(request, "accounts/team_detail.html", _team_context(team, me))


@require_POST
def team_rename(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return a redirect after renaming the team, or the team page with the errors."""
    team, me = _get_team_for_owner(request, code)
    old_name = team.name
    form = TeamForm(request.POST, instance=team)
    if form.is_valid():
        form.save()
        messages.success(request, f"Renamed {old_name} to {team.name}.")
        return redirect("accounts:team_detail", code=team.code)
    team.name = old_name
    context = _team_context(team, me, rename_form=form)
    return render(request, "accounts/team_detail.html", context)


@require_http_methods(["GET", "POST"])
def team_delete(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the delete confirmation; POST deletes the team."""
    team, me = _get_team_for_owner(request, code)
    if request.method == "POST":
        team.delete()
        messages.success(request, f"Deleted the team {team.name}.")
        return redirect("accounts:teams")
    return render(request, "accounts/team_confirm.html", {"team": team, "action": "delete"})


@require_http_methods(["GET", "POST"])
def team_leave(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the leave confirmation; POST removes the user unless they are the last owner."""
    team, me = _get_team_for_member(request, code)
    if request.method == "POST":
        try:
            team.remove_member(me)
        except TeamRuleError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:team_detail", code=team.code)
        messages.success(request, f"You left {team.name}.")
        return redirect("accounts:teams")
    context = {"team": team, "action": "leave", "last_owner": me.is_last_owner()}
    return render(request, "accounts/team_confirm.html", context)


def _members_response(
    request: AuthedRequest, team: Team, me: Membership, error: str = "", notice: str = ""
) -> HttpResponse:
    """Return the members card (htmx) or a redirect to the team page with a message."""
    if request.htmx:
        context = _team_context(team, me, error=error, notice=notice)
        return render(request, "accounts/team_detail.html#members", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("accounts:team_detail", code=team.code)


@require_POST
def member_role(request: AuthedRequest, code: UUID, pk: int) -> HttpResponse:
    """Return the members card (or a redirect) after changing a member's role."""
    team, me = _get_team_for_owner(request, code)
    member = get_object_or_404(team.memberships.select_related("user"), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _members_response(request, team, me, error="Choose owner, editor or viewer.")
    try:
        member.change_role(form.cleaned_data["role"])
    except TeamRuleError as exc:
        return _members_response(request, team, me, error=str(exc))
    if member.pk == me.pk:
        # Owners who change their own role may lose the controls on this page: reload it.
        return _redirect(request, reverse("accounts:team_detail", args=[team.code]))
    notice = f"{member.user.username} is now {member.get_role_display().lower()}."
    return _members_response(request, team, me, notice=notice)


@require_POST
def member_remove(request: AuthedRequest, code: UUID, pk: int) -> HttpResponse:
    """Return the members card (or a redirect) after removing a member."""
    team, me = _get_team_for_owner(request, code)
    member = get_object_or_404(team.memberships.select_related("user"), pk=pk)
    try:
        team.remove_member(member)
    except TeamRuleError as exc:
        return _members_response(request, team, me, error=str(exc))
    if member.pk == me.pk:
        return _redirect(request, reverse("accounts:teams"))
    notice = f"Removed {member.user.username} from {team.name}."
    return _members_response(request, team, me, notice=notice)


@never_cache
@require_http_methods(["GET", "POST"])
def invite_create(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the invite form; POST creates a link and shows it once."""
    team, me = _get_team_for_owner(request, code)
    form = InviteForm(request.POST or None)
    context: dict[str, Any] = {"team": team, "form": form}
    if request.method == "POST" and form.is_valid():
        invite, token = team.create_invite(form.cleaned_data["role"], request.user)
        url = request.build_absolute_uri(reverse("accounts:invite_accept", args=[token]))
        context |= _team_context(team, me, invite=invite, invite_url=url)
    if request.htmx:
        return render(request, "accounts/invite_new.html#invite-dialog-body", context)
    return render(request, "accounts/invite_new.html", context)


@require_POST
def invite_revoke(request: AuthedRequest, code: UUID, pk: int) -> HttpResponse:
    """Return the pending-invites card (or a redirect) after revoking an invite."""
    team, me = _get_team_for_owner(request, code)
    invite = get_object_or_404(team.invites, pk=pk)
    invite.revoke()
    if request.htmx:
        return render(request, "accounts/team_detail.html#invites", _team_context(team, me))
    messages.success(request, "Revoked the invite link. It no longer works.")
    return redirect("accounts:team_detail", code=team.code)


@login_not_required
@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Return the invite page; POST by a signed-in user joins the team."""
    invite = get_object_or_404(Invite.objects.select_related("team", "created_by").by_token(token))
    user = request.user
    if request.method == "POST":
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            invite.accept(user)
        except TeamRuleError:
            # Used, revoked or expired meanwhile, or already a member: the page says which.
            invite.refresh_from_db()
        else:
            messages.success(request, f"You joined {invite.team.name} as {invite.role}.")
            return redirect("accounts:team_detail", code=invite.team.code)
    is_member = user.is_authenticated and invite.team.memberships.filter(user=user).exists()
    return render(
        request, "accounts/invite_accept.html", {"invite": invite, "is_member": is_member}
    )
