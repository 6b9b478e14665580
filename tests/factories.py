"""Plain builders for test data: keyword defaults, no factory library."""

from __future__ import annotations

from typing import Any

from playground.accounts.models import Membership, Role, Team, User

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str = "user", **kwargs: Any) -> User:
    """Return a saved user whose password is PASSWORD."""
    kwargs.setdefault("email", f"{username}@example.com")
    user = User(username=username, **kwargs)
    user.set_password(PASSWORD)
    user.save()
    return user


def make_team(owner: User, name: str = "Acme") -> Team:
    """Return a saved team with `owner` as its owner."""
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def add_member(team: Team, user: User, role: str = Role.VIEWER) -> Membership:
    """Return a new membership of `user` in `team` with `role`."""
    return Membership.objects.create(team=team, user=user, role=role)
