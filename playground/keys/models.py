"""Credentials: one API key for one provider, encrypted at rest: a user's own, or a team's.

The plaintext key is reachable only through `Credential.reveal_key()`, which only the code that
calls a provider uses. Everything a page shows comes from `key_last4`. A team credential has
`team` set (its `user` is who added it); members run with it and never see it
(docs/team-credentials.md).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.debug import sensitive_variables

from playground.locks import Purpose, hold_user_lock
from playground.offline import is_in_process_simulator
from playground.providers import ProbeResult as ProbeOutcome
from playground.providers import Target
from playground.providers.catalog import (
    ModelInfo,
    Provider,
    get_provider,
    provider_choices,
    simulator_base_url,
)
from playground.providers.probe import PROBE_DEADLINES

from . import crypto

if TYPE_CHECKING:
    from playground.accounts.models import Team, User

# How the form names each dialect a user may pick (the catalog's dialect_choices).
DIALECT_LABELS = {
    "plain": "Plain: a bare trailing assistant message",
    "deepseek": "DeepSeek style: prefix flag",
    "dashscope": "DashScope style: partial flag",
    "moonshot": "Moonshot style: partial flag",
    "mistral": "Mistral style: prefix flag, echoed prefix",
    "vllm": "vLLM: continue_final_message",
    "sglang": "SGLang: continue_final_message",
    "llamacpp": "llama.cpp server style",
}


def catalog_entry(provider_id: str) -> Provider | None:
    """Return the catalog's provider `provider_id`, or None when the catalog no longer has it."""
    try:
        return get_provider(provider_id)
    except KeyError:
        return None


def dialect_choices(provider_id: str) -> list[tuple[str, str]]:
    """Return the dialects a user may pick for `provider_id`; empty when the catalog fixes it."""
    provider = catalog_entry(provider_id)
    # A single offered dialect is the provider's own: there is nothing to pick.
    if provider is None or len(provider.dialect_choices) < 2:
        return []
    return [(dialect, DIALECT_LABELS.get(dialect, dialect)) for dialect in provider.dialect_choices]


def validate_provider(value: str) -> None:
    """Raise ValidationError unless `value` is a provider id in the catalog."""
    if value not in dict(provider_choices()):
        raise ValidationError("Choose a provider from the list.", code="unknown_provider")


# The offline demo: simulator credentials for several dialects. The simulator accepts any
# key starting with "sim-"; this one is not a secret.
SIMULATOR_KEY = "sim-demo-key-offline"
SIMULATOR_SET = [
    ("deepseek", "Simulator · DeepSeek"),
    ("dashscope", "Simulator · Qwen"),
    ("mistral", "Simulator · Mistral"),
    ("anthropic", "Simulator · Anthropic"),
    ("moonshot", "Simulator · Kimi"),
]


class CredentialQuerySet(models.QuerySet["Credential"]):
    def for_user(self, user: User) -> CredentialQuerySet:
        """Return `user`'s own credentials: no teammate's, no team's (even one `user` added)."""
        return self.filter(user=user, team__isnull=True)

    def of_team(self, team: Team) -> CredentialQuerySet:
        """Return the credentials that belong to `team`."""
        return self.filter(team=team)

    def usable_by(self, user: User) -> CredentialQuerySet:
        """Return what `user` may run with: their own credentials, then their teams' credentials.

        Membership is read at each call, so a member removed from a team stops seeing (and
        being able to pick) its credentials at once.
        """
        own = Q(user=user, team__isnull=True)
        teams = Q(team__memberships__user=user)
        return (
            self.filter(own | teams)
            .select_related("team")
            .order_by(F("team").asc(nulls_first=True), "created_at", "id")
            .distinct()
        )

    def with_latest_probes(self) -> CredentialQuerySet:
        """Return these credentials with `latest_probes`: the newest verdict for each model."""
        latest = ProbeResult.objects.latest_per_model()
        # django-stubs' plugin refuses a to_attr that the model declares, as Credential does.
        prefetch = Prefetch("probes", queryset=latest, to_attr="latest_probes")
        return self.prefetch_related(prefetch)  # type: ignore[no-redef]

    def add_simulator_set(self, user: User, origin: str) -> list[Credential]:
        """Give `user` one credential per SIMULATOR_SET provider, answered by the simulator.

        `origin` is where the site serves the simulator (e.g. http://127.0.0.1:8000/sim).
        Existing simulator credentials of the same provider are updated, not duplicated.
        """
        made = []
        for provider_id, label in SIMULATOR_SET:
            base_url = simulator_base_url(provider_id, origin)
            credential = self.filter(
                user=user, provider=provider_id, label=label
            ).first() or self.model(user=user, provider=provider_id, label=label)
            credential.base_url = base_url
            credential.set_key(SIMULATOR_KEY)
            credential.save()
            made.append(credential)
        return made

    def rotate_keys(self, batch_size: int = 500) -> int:
        """Return how many keys were re-encrypted under the first ENCRYPTION_KEYS entry."""
        rotated = 0
        last_id = 0
        while True:
            # One transaction per batch: a failure keeps earlier batches, which every
            # configured key can still decrypt, so a second run simply carries on.
            with transaction.atomic():
                batch = list(
                    self.select_for_update().filter(pk__gt=last_id).order_by("pk")[:batch_size]
                )
                for credential in batch:
                    credential.key_ciphertext = crypto.rotate(credential.key_ciphertext)
                self.model.objects.bulk_update(batch, ["key_ciphertext"])
            if not batch:
                return rotated
            rotated += len(batch)
            last_id = batch[-1].pk


class Credential(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The owner of a personal credential; for a team credential, the member who added it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credentials"
    )
    # Set for a team credential: the team owns it, its members use it, none of them sees it.
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credentials",
    )
    # A catalog id, checked by a validator rather than `choices` so that catalog edits need
    # no migration. Fixed after creation: another provider means another credential.
    provider = models.CharField(max_length=40, validators=[validate_provider])
    label = models.CharField(max_length=80)
    dialect = models.CharField(max_length=20, blank=True, help_text="Blank: the provider's own.")
    base_url = models.CharField(
        "base URL", max_length=300, blank=True, help_text="Blank: the provider's default."
    )
    key_ciphertext = models.TextField(editable=False)
    key_last4 = models.CharField(max_length=4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CredentialQuerySet.as_manager()
    # The newest verdict per model: set by with_latest_probes() and by the probe view.
    latest_probes: list[ProbeResult]

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.provider_name}, {self.masked_key})"

    def __repr__(self) -> str:
        return f"<Credential {self.code} {self.provider} {self.label!r} {self.masked_key}>"

    @sensitive_variables("plaintext")
    def set_key(self, plaintext: str) -> None:
        """Store `plaintext` encrypted, remembering only its last four characters in clear."""
        self.key_ciphertext = crypto.encrypt(plaintext)
        self.key_last4 = plaintext[-4:]

    def reveal_key(self) -> str:
        """Return the plaintext key: for the code that calls the provider, never for a page."""
        return crypto.decrypt(self.key_ciphertext)

    def target(self) -> Target:
        """Return where and how to call the provider, with the decrypted key (never shown)."""
        return Target(
            provider=self.provider,
            base_url=self.effective_base_url,
            api_key=self.reveal_key(),
            dialect=self.effective_dialect,
        )

    @property
    def is_team(self) -> bool:
        """Return whether a team owns this credential."""
        return self.team_id is not None

    @property
    def choice_label(self) -> str:
        """Return how the compare page names this credential among a user's choices."""
        name = self.label if self.is_simulator else f"{self.label} · {self.provider_name}"
        if self.team is not None:
            return f"{name} · {self.team.name} team key"
        return name

    @property
    def provider_name(self) -> str:
        """Return the provider's display name (its id if the catalog dropped it)."""
        provider = catalog_entry(self.provider)
        return provider.name if provider else self.provider

    @property
    def effective_base_url(self) -> str:
        """Return the base URL requests go to: the stored one, else the provider's default."""
        if self.base_url:
            return self.base_url
        provider = catalog_entry(self.provider)
        return provider.default_base_url if provider else ""

    @property
    def effective_dialect(self) -> str:
        """Return the wire dialect: the one chosen for a generic endpoint, else the provider's."""
        if self.dialect:
            return self.dialect
        provider = catalog_entry(self.provider)
        return provider.dialect if provider else ""

    @property
    def dialect_label(self) -> str:
        """Return the chosen dialect's display label, or "" when the provider fixes it."""
        return dict(dialect_choices(self.provider)).get(self.dialect, self.dialect)

    @property
    def masked_key(self) -> str:
        """Return the key as shown anywhere: an ellipsis and its last four characters."""
        return f"…{self.key_last4}"

    @property
    def suggested_models(self) -> tuple[ModelInfo, ...]:
        """Return the catalog's models for this provider (suggestions: any id may be used)."""
        provider = catalog_entry(self.provider)
        return provider.models if provider else ()

    def base_url_problem(self) -> str:
        """Return why the base URL cannot be called (a malformed port), or ""."""
        return base_url_shape_problem(self.effective_base_url)

    @property
    def is_simulator(self) -> bool:
        """Return whether requests go to this site's built-in provider simulator."""
        url = self.effective_base_url
        return urlsplit(url).path.startswith("/sim/") or is_in_process_simulator(url)


def base_url_shape_problem(url: str) -> str:
    """Return why `url` is not a well-formed base URL (its port, its host), or "".

    The SSRF policy (providers/urlpolicy.py) decides where a URL may point; this only catches
    what no HTTP client can parse, such as the port in `https://host:80:8302/v1`.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # its message can quote the URL, which may hold a secret
        return "Enter a valid URL, such as https://llm.example.com/v1."
    try:
        port = parts.port
    except ValueError:
        return "The port in the base URL is not a number from 1 to 65535."
    if port == 0:
        return "The port in the base URL is not a number from 1 to 65535."
    if url and not parts.hostname:
        return "The base URL has no host name."
    return ""


class ProbeVerdict(models.TextChoices):
    CONTINUES = "continues", "continues"
    RESTARTS = "restarts", "restarts"
    ERROR = "error", "error"
    UNSUPPORTED = "unsupported", "unsupported"


# A probe reply is capped at a few dozen tokens; the limits only guard against a misbehaving
# endpoint filling the table.
PROBE_TEXT_LIMIT = 2000
PROBE_EVIDENCE_LIMIT = 1000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProbeResultQuerySet(models.QuerySet["ProbeResult"]):
    def latest_per_model(self) -> ProbeResultQuerySet:
        """Return only the newest probe of each credential and model, ordered by model."""
        newest_first = Window(
            RowNumber(),
            partition_by=[F("credential_id"), F("model")],
            order_by=[F("checked_at").desc(), F("id").desc()],
        )
        return self.annotate(recency=newest_first).filter(recency=1).order_by("model")


class ProbeResult(models.Model):
    """One probe of a credential and model: did it continue the known prefix? History is kept."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="probes")
    model = models.CharField(max_length=200)
    verdict = models.CharField(max_length=12, choices=ProbeVerdict.choices)
    evidence = models.TextField()
    prefix = models.TextField()
    text = models.TextField(blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    objects = ProbeResultQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["credential", "model", "-checked_at"])]

    def __str__(self) -> str:
        return f"{self.model}: {self.verdict}"

    @classmethod
    def from_outcome(cls, credential: Credential, model: str, outcome: ProbeOutcome) -> ProbeResult:
        """Return an unsaved record of `outcome`, its texts clipped to a sensible length."""
        return cls(
            credential=credential,
            model=model,
            verdict=outcome.verdict,
            evidence=_clip(outcome.evidence, PROBE_EVIDENCE_LIMIT),
            prefix=outcome.prefix,
            text=_clip(outcome.text, PROBE_TEXT_LIMIT),
        )

    @property
    def badge_class(self) -> str:
        """Return the badge style: ok for continues, warn for restarts, danger for error."""
        return {"continues": "badge-ok", "restarts": "badge-warn", "error": "badge-danger"}.get(
            self.verdict, ""
        )

    @property
    def checked_ago(self) -> str:
        """Return how long ago the probe ran, e.g. "2 minutes ago" or "just now"."""
        if timezone.now() - self.checked_at < timedelta(minutes=1):
            return "just now"
        return f"{timesince(self.checked_at, depth=1)} ago"


# Three times the probe's total deadline (three minutes): only a dead process leaves one this old.
PROBE_SLOT_EXPIRY = timedelta(seconds=3 * PROBE_DEADLINES.total)


class ProbeSlotQuerySet(models.QuerySet["ProbeSlot"]):
    def live(self) -> ProbeSlotQuerySet:
        """Return slots of probes that may still be running.

        A probe ends within its total deadline (PROBE_DEADLINES in playground/providers/probe.py,
        a minute); a slot older than PROBE_SLOT_EXPIRY belongs to a process that died mid-probe.
        """
        cutoff = timezone.now() - PROBE_SLOT_EXPIRY
        return self.filter(started_at__gte=cutoff)

    def take(self, user: User) -> ProbeSlot | None:
        """Return a new slot for one probe of `user`, or None at MAX_CONCURRENT_PROBES_PER_USER.

        Counted and inserted under the user's probe lock (playground/locks.py), so concurrent
        probes cannot all see a free slot. Delete the slot when the probe ends.
        """
        with transaction.atomic():
            hold_user_lock(Purpose.PROBES, user.pk)
            if self.filter(user=user).live().count() >= settings.MAX_CONCURRENT_PROBES_PER_USER:
                return None
            return self.create(user=user)


class ProbeSlot(models.Model):
    """A probe in flight, so concurrent probes of one user can be capped across processes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)

    objects = ProbeSlotQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Probe slot of user {self.user_id} since {self.started_at:%H:%M:%S}"


# The team-credential usage models live in their own module; importing them here registers them.
from .usage import TeamBudget as TeamBudget  # noqa: E402
from .usage import TeamUse as TeamUse  # noqa: E402
