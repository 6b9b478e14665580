"""The key vault: list, add, rename, replace the key, change the endpoint, delete, probe.

Every action works as an htmx fragment swap and, without JavaScript, as a plain form post
followed by a redirect. Other people's credentials answer 404, teammates' included.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground import offline, providers
from playground.accounts import ratelimits
from playground.accounts.models import User
from playground.htmx import AuthedRequest
from playground.http import build_client
from playground.providers.probe import PROBE_DEADLINES, PROBE_PREFIX

from .forms import CredentialForm, EndpointForm, ProbeForm, RenameForm, ReplaceKeyForm
from .models import Credential, ProbeResult, ProbeSlot


def _get_credential(user: User, code: UUID) -> Credential:
    """Return `user`'s credential `code`; 404 for anyone else, teammates included."""
    return get_object_or_404(Credential.objects.for_user(user), code=code)


def _list_context(request: AuthedRequest, form: CredentialForm, **extra: Any) -> dict[str, Any]:
    return {
        "credentials": Credential.objects.for_user(request.user).with_latest_probes(),
        "form": form,
        "offline_demo": offline.offers_offline_demo(),
        **extra,
    }


@require_GET
def credential_list(request: AuthedRequest) -> HttpResponse:
    """Return the vault page: the user's credentials and the add form."""
    return render(request, "keys/list.html", _list_context(request, CredentialForm()))


@require_GET
def endpoint_fields(request: AuthedRequest) -> HttpResponse:
    """Return the add form's base URL and dialect fields, fitted to the chosen provider."""
    form = CredentialForm(initial={"provider": request.GET.get("provider", "")})
    return render(request, "keys/list.html#endpoint-fields", {"form": form})


@require_POST
@sensitive_post_parameters("api_key")
def add(request: AuthedRequest) -> HttpResponse:
    """Return the new row and a fresh form (htmx) or a redirect; the form again if invalid."""
    form = CredentialForm(request.POST)
    if not form.is_valid():
        template = "keys/list.html#add-form" if request.htmx else "keys/list.html"
        return render(request, template, _list_context(request, form))
    credential = form.save(commit=False)
    credential.user = request.user
    credential.set_key(form.cleaned_data["api_key"])
    credential.save()
    if not request.htmx:
        messages.success(request, f"Added “{credential.label}”. Its key is stored encrypted.")
        return redirect("keys:list")
    context = _list_context(request, CredentialForm(), added=credential)
    return render(request, "keys/list.html#add-response", context)


@require_POST
def add_simulator(request: AuthedRequest) -> HttpResponse:
    """Add the built-in simulator's demo credentials (one per dialect) and show the vault."""
    origin = offline.simulator_origin(request.build_absolute_uri("/"))
    if origin is None:
        raise Http404("This site does not offer the offline demo.")
    made = Credential.objects.add_simulator_set(request.user, origin)
    messages.success(
        request,
        f"Added {len(made)} simulator credentials. They answer from this site, offline; "
        "no real provider is called.",
    )
    return redirect("keys:list")


def row(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return one credential's table row, which an inline form's Cancel swaps back in."""
    # The owner check comes before the method check: others get 404 whatever they send.
    credential = _get_credential(request.user, code)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not request.htmx:
        return redirect("keys:list")
    return render(request, "keys/list.html#credential-row", {"credential": credential})


EDIT_TITLES = {
    "rename": "Rename",
    "replace_key": "Replace the key",
    "endpoint": "Change the endpoint",
}
EDIT_DONE = {
    "rename": "Renamed to “{label}”.",
    "replace_key": "Replaced the key of “{label}”.",
    "endpoint": "Saved the endpoint of “{label}”.",
}


def _edit(
    request: AuthedRequest, code: UUID, form_class: type[forms.ModelForm[Credential]], action: str
) -> HttpResponse:
    """Return the inline (htmx) or full-page edit form, or the saved row / a redirect."""
    credential = _get_credential(request.user, code)
    data = request.POST if request.method == "POST" else None
    form = form_class(data, instance=credential)
    if form.is_bound and form.is_valid():
        form.save()
        if request.htmx:
            context = {"credential": credential, "updated": True}
            return render(request, "keys/list.html#credential-row", context)
        messages.success(request, EDIT_DONE[action].format(label=credential.label))
        return redirect("keys:list")
    context = {
        "credential": credential,
        "form": form,
        "title": EDIT_TITLES[action],
        "action_url": reverse(f"keys:{action}", args=[credential.code]),
        "inline": bool(request.htmx),
    }
    template = "keys/list.html#row-form" if request.htmx else "keys/edit.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def rename(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the rename form, or the renamed row."""
    return _edit(request, code, RenameForm, "rename")


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("api_key")
def replace_key(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the replace-key form, or the row with the new key's last four characters."""
    return _edit(request, code, ReplaceKeyForm, "replace_key")


@require_http_methods(["GET", "POST"])
def endpoint(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the base URL and dialect form, or the updated row."""
    return _edit(request, code, EndpointForm, "endpoint")


@require_http_methods(["GET", "POST"])
def delete(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the confirmation page (GET), or delete and swap the row out / redirect."""
    credential = _get_credential(request.user, code)
    if request.method == "GET":
        return render(request, "keys/delete.html", {"credential": credential})
    label = credential.label
    credential.delete()
    if request.htmx:
        # The row swaps out; when it was the last one, the empty state swaps in with it.
        context = {"credentials": Credential.objects.for_user(request.user)}
        return render(request, "keys/list.html#row-deleted", context)
    messages.success(request, f"Deleted “{label}”.")
    return redirect("keys:list")


def _credential_for_probe(user: User, code: UUID) -> Credential:
    """Return `user`'s credential `code` (404 for anyone else), then release the DB connection."""
    try:
        return _get_credential(user, code)
    finally:
        # A probe can wait on the provider for a minute: hold no connection meanwhile. Inside
        # a transaction (a test's) closing would abort it; outside one nothing is lost.
        if not connection.in_atomic_block:
            connection.close()


def _probe_slot(user: User) -> ProbeSlot | None:
    """Return a slot for one more probe of `user`, or None at the cap; release the DB."""
    try:
        return ProbeSlot.objects.take(user)
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _release_probe_slot(slot: ProbeSlot) -> None:
    try:
        ProbeSlot.objects.filter(pk=slot.pk).delete()
    finally:
        if not connection.in_atomic_block:
            connection.close()


async def _run_probe(credential: Credential, model: str) -> ProbeResult:
    """Return the saved verdict of probing `model` with `credential`."""
    problem = credential.base_url_problem()
    if problem:
        # Saved before the form checked ports: say so instead of handing it to the client.
        outcome = providers.ProbeResult("error", problem, PROBE_PREFIX, "")
        record = ProbeResult.from_outcome(credential, model, outcome)
        await record.asave()
        return record
    # A client of its own, closed when the probe ends: probes are rare, and a sync caller
    # runs this on a short-lived event loop that a shared client would outlive.
    async with build_client(allow_private=settings.ALLOW_PRIVATE_BASE_URLS) as client:
        outcome = await providers.probe(
            client,
            credential.target(),
            model,
            allow_private=settings.ALLOW_PRIVATE_BASE_URLS,
            deadlines=PROBE_DEADLINES,
        )
    record = ProbeResult.from_outcome(credential, model, outcome)
    await record.asave()
    return record


async def probe(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the probe panel with the fresh verdict (htmx), or redirect back to the vault."""
    user = await request.auser()
    # The owner check comes before the method check: others get 404 whatever they send.
    credential = await sync_to_async(_credential_for_probe)(user, code)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ProbeForm(request.POST)
    fresh = None
    if form.is_valid():
        if refusal := await sync_to_async(ratelimits.check)(request, "probe"):
            form.add_error("model", refusal.message)
        elif (slot := await sync_to_async(_probe_slot)(user)) is None:
            limit = settings.MAX_CONCURRENT_PROBES_PER_USER
            form.add_error(
                "model",
                f"You already have {limit} probes running, the most this site allows at once. "
                "Wait for one to finish, then probe again.",
            )
        else:
            try:
                fresh = await _run_probe(credential, form.cleaned_data["model"])
            finally:
                await sync_to_async(_release_probe_slot)(slot)
    if not request.htmx:
        if fresh is None:
            messages.error(request, f"Not probed: {form.errors['model'][0]}")
        else:
            messages.info(
                request, f"Probed {fresh.model} on “{credential.label}”: {fresh.verdict}."
            )
        return redirect(f"{reverse('keys:list')}#probe-{credential.code}")
    credential.latest_probes = [record async for record in credential.probes.latest_per_model()]
    context = {"credential": credential, "probe_form": form, "fresh": fresh}
    return render(request, "keys/list.html#probe-panel", context)
