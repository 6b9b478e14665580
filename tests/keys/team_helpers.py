"""Builders for team-credential tests."""

from __future__ import annotations

from typing import Any

from playground.accounts.models import Team, User
from playground.keys.models import Credential, TeamBudget
from playground.runs.models import Run, Segment
from playground.runs.team_keys import input_estimate

# A simulator key (the simulator accepts `sim-…`), distinctive enough to find anywhere.
TEAM_KEY = "sim-TEAMCANARY-Zq8Xv3Lm-0123456789"


def make_team_credential(
    team: Team, added_by: User, key: str = TEAM_KEY, **kwargs: Any
) -> Credential:
    """Return a saved credential of `team`, added by `added_by`, holding `key`."""
    kwargs.setdefault("provider", "deepseek")
    kwargs.setdefault("label", "Shared DeepSeek")
    credential = Credential(user=added_by, team=team, **kwargs)
    credential.set_key(key)
    credential.save()
    return credential


def compare_post(
    credential: Credential, model: str = "deepseek-chat", **extra: str
) -> dict[str, str]:
    """Return a minimal compare form submission with one target."""
    return {
        "prefix": "def quick_sort(items):\n",
        "t0-credential": str(credential.code),
        "t0-model": model,
        **extra,
    }


def member_budget(team: Team, user: User, tokens: int) -> TeamBudget:
    return TeamBudget.objects.create(team=team, user=user, monthly_tokens=tokens)


def reserve_size(run: Run, max_tokens: int) -> int:
    """Return what one column of `run` with `max_tokens` reserves."""
    segment = Segment.objects.filter(column__run=run).first()
    assert segment is not None
    return input_estimate(run, segment) + max_tokens
