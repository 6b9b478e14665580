"""Users, teams and memberships. Team rules (who may do what) live here, not in views."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.db.models import Count
from django.utils import timezone

INVITE_LIFETIME = timedelta(days=7)


class TeamRuleError(Exception):
    """A team rule refused an action; the message is written to be shown to the user."""


class User(AbstractUser):
    """The site's user. A custom model from the start, so fields can be added later."""


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class TeamQuerySet(models.QuerySet["Team"]):
    def for_user(self, user: User) -> TeamQuerySet:
        """Return the teams `user` is a member of."""
        return self.filter(memberships__user=user)

    def create_with_owner(self, owner: User, name: str) -> Team:
        """Return a new team named `name` whose only member, `owner`, is its owner."""
        with transaction.atomic():
            team = self.create(name=name)
            Membership.objects.create(team=team, user=owner, role=Role.OWNER)
        return team


class Team(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    # Whether editors, not only owners, may add credentials to the team (docs/team-credentials.md).
    editors_add_credentials = models.BooleanField(default=False)
    members = models.ManyToManyField(User, through="Membership", related_name="teams")

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def remove_member(self, membership: Membership) -> None:
        """Remove `membership` from the team; raise TeamRuleError for the last owner."""
        with transaction.atomic():
            _check_keeps_an_owner(self, membership)
            membership.delete()

    def create_invite(self, role: str, created_by: User) -> tuple[Invite, str]:
        """Return a new pending invite and its token; only the token's hash is stored."""
        token = secrets.token_urlsafe(32)
        invite = Invite.objects.create(
            team=self,
            token_hash=Invite.hash_token(token),
            role=Role(role),
            created_by=created_by,
            expires_at=timezone.now() + INVITE_LIFETIME,
        )
        return invite, token


class MembershipQuerySet(models.QuerySet["Membership"]):
    def for_user(self, user: User) -> MembershipQuerySet:
        """Return `user`'s memberships with their team and its member count, by team name."""
        return (
            self.filter(user=user)
            .select_related("team")
            .annotate(member_count=Count("team__memberships"))
            .order_by("team__name", "team__id")
        )


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]
        ordering = ["team", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def can_edit(self) -> bool:
        """Return whether this member may edit the team's shared templates."""
        return self.role in (Role.OWNER, Role.EDITOR)

    # Team credentials (docs/team-credentials.md): every rule of who may do what, in one place.
    @property
    def may_add_credentials(self) -> bool:
        """Return whether this member may add a credential to the team."""
        return self.is_owner or (self.role == Role.EDITOR and self.team.editors_add_credentials)

    @property
    def may_use_credentials(self) -> bool:
        """Return whether this member may run with the team's credentials (every member may)."""
        return self.role in (Role.OWNER, Role.EDITOR, Role.VIEWER)

    @property
    def may_manage_credentials(self) -> bool:
        """Return whether this member may delete or re-key team credentials and set budgets."""
        return self.is_owner

    @property
    def may_see_usage(self) -> bool:
        """Return whether this member may see everyone's usage, the budgets and the audit trail."""
        return self.is_owner

    def is_last_owner(self) -> bool:
        """Return whether this member is the team's only owner."""
        owners = self.team.memberships.filter(role=Role.OWNER)
        return self.is_owner and not owners.exclude(pk=self.pk).exists()

    def change_role(self, new_role: str) -> None:
        """Give this member `new_role`; raise TeamRuleError when it would demote the last owner."""
        role = Role(new_role)
        with transaction.atomic():
            if role != Role.OWNER:
                _check_keeps_an_owner(self.team, self)
            self.role = role
            self.save(update_fields=["role"])


def _check_keeps_an_owner(team: Team, membership: Membership) -> None:
    """Raise TeamRuleError if `membership` is the team's only owner. Call inside atomic().

    Two owners demoting or removing each other at once must not leave the team ownerless: the
    owner rows are locked, so the second transaction waits for the first, and PostgreSQL then
    re-reads the rows and sees the first one's change.
    """
    owners = Membership.objects.select_for_update().filter(team=team, role=Role.OWNER)
    if set(owners.values_list("id", flat=True)) == {membership.pk}:
        raise TeamRuleError(
            f"{team.name} needs at least one owner: make another member an owner first."
        )


class InviteQuerySet(models.QuerySet["Invite"]):
    def pending(self) -> InviteQuerySet:
        """Return the invites that can still be accepted (not used, revoked or expired)."""
        return self.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )

    def by_token(self, token: str) -> InviteQuerySet:
        """Return the invite (if any) whose token is `token`."""
        return self.filter(token_hash=Invite.hash_token(token))


class Invite(models.Model):
    """A single-use, expiring link that adds its holder to a team with a given role.

    Only a SHA-256 hash of the token is stored, so a copy of the database hands out no
    live invites; the token itself is shown once, to the owner who created it.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="invites_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invites_used"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invite to {self.team} as {self.role} ({self.status})"

    @staticmethod
    def hash_token(token: str) -> str:
        """Return the hex SHA-256 of `token`, the form in which tokens are stored."""
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def status(self) -> str:
        """Return "used", "revoked", "expired" or "pending"."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def problem(self) -> str:
        """Return why this invite cannot be accepted, or "" when it can."""
        return {
            "used": "This invite link has already been used. Ask a team owner for a new one.",
            "revoked": "This invite link was revoked by a team owner.",
            "expired": "This invite link has expired. Ask a team owner for a new one.",
        }.get(self.status, "")

    def accept(self, user: User) -> Membership:
        """Return `user`'s new membership; raise TeamRuleError if the invite or user can't."""
        with transaction.atomic():
            # Locking the invite makes two simultaneous accepts of one link take turns,
            # so the second one sees it used.
            invite = Invite.objects.select_for_update().get(pk=self.pk)
            if invite.problem:
                raise TeamRuleError(invite.problem)
            if invite.team.memberships.filter(user=user).exists():
                raise TeamRuleError(f"You are already a member of {invite.team.name}.")
            membership = Membership.objects.create(team=invite.team, user=user, role=invite.role)
            invite.used_at = timezone.now()
            invite.used_by = user
            invite.save(update_fields=["used_at", "used_by"])
        self.used_at, self.used_by = invite.used_at, invite.used_by
        return membership

    def revoke(self) -> None:
        """Revoke this invite so its link stops working (a used invite stays used)."""
        Invite.objects.filter(pk=self.pk, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.refresh_from_db(fields=["revoked_at"])
