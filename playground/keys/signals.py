"""Ending the use of a team credential at once: when it is deleted, or its member removed.

Signals rather than calls in the views, so every way in counts: the vault, the team pages, the
admin, and cascades (a deleted team deletes its credentials; a deleted user their memberships).
The stop goes out once the deletion has committed.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, pre_delete

from playground.accounts.models import Membership

from .models import Credential
from .usage import TeamUse, TeamUseQuerySet, columns_in_flight, stop_columns


def _stop_after_commit(uses: TeamUseQuerySet) -> None:
    # The columns are read now: a cascade (a deleted team) takes the use rows with it.
    columns = columns_in_flight(uses)
    if columns:
        transaction.on_commit(lambda: stop_columns(columns))


def credential_deleting(sender: Any, instance: Credential, **kwargs: Any) -> None:
    """Stop the columns streaming with a team credential that is being deleted."""
    if instance.team_id is not None:
        _stop_after_commit(TeamUse.objects.filter(credential=instance))


def membership_deleted(sender: Any, instance: Membership, **kwargs: Any) -> None:
    """Stop the columns a removed member streams with the team's credentials."""
    _stop_after_commit(TeamUse.objects.filter(team_id=instance.team_id, user_id=instance.user_id))


def connect() -> None:
    pre_delete.connect(
        credential_deleting, sender=Credential, dispatch_uid="team-credential-deleting"
    )
    post_delete.connect(membership_deleted, sender=Membership, dispatch_uid="team-member-removed")
