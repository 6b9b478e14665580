"""Builders for runs shared with teams, verdicts on them and templates' win tables."""

from __future__ import annotations

import pytest
from django.test import Client

from playground.accounts.models import Team, User
from playground.keys.models import Credential
from playground.prompts.models import PrefixTemplate, Visibility
from playground.providers.prompt import Prompt
from playground.runs.models import Run, Segment, SegmentStatus
from playground.runs.verdicts import Verdict
from tests.conftest import _client_for
from tests.keys.factories import make_credential
from tests.prompts.factories import make_template

HTMX = {"HTTP_HX_REQUEST": "true"}

# Targets by a short name: (provider, model).
TARGETS = {
    "chat": ("deepseek", "deepseek-chat"),
    "reasoner": ("deepseek", "deepseek-reasoner"),
    "qwen": ("dashscope", "qwen3-max"),
}


def _credential(user: User, provider: str) -> Credential:
    found = Credential.objects.filter(user=user, provider=provider, team=None).first()
    return found or make_credential(user, provider=provider, label=f"{provider} of {user}")


def finished_run(
    user: User,
    template: PrefixTemplate | None,
    targets: tuple[str, ...] = ("chat", "reasoner"),
    *,
    team: Team | None = None,
    blind: bool = False,
) -> Run:
    """Return a finished run of `user` with one done column per target, shared with `team`."""
    run = Run.objects.start(
        user=user,
        prompt=Prompt(prefix="```python\n"),
        targets=[
            {"credential": _credential(user, TARGETS[name][0]), "model": TARGETS[name][1]}
            for name in targets
        ],
        template=template,
        capped=False,
    )
    for segment in Segment.objects.filter(column__run=run):
        segment.status = SegmentStatus.DONE
        segment.text = f"def sort_{segment.column.position}(items): ..."
        segment.save()
    run.refresh_status()
    run.team = team
    run.blind = blind
    run.save(update_fields=["team", "blind"])
    return run


def judge(run: Run, user: User, *ranking: int) -> Verdict:
    """Return `user`'s verdict on `run`: column positions, best first."""
    return Verdict.objects.create(run=run, user=user, ranking=list(ranking))


def client_for(user: User) -> Client:
    """Return a test client logged in as `user` (tests/conftest.py's, for any user)."""
    return _client_for(user)


@pytest.fixture
def team_template(alice: User, team: Team) -> PrefixTemplate:
    """A template of team Acme, owned by alice."""
    return make_template(alice, visibility=Visibility.TEAM, team=team)


@pytest.fixture
def shared(alice: User, team: Team, team_template: PrefixTemplate) -> Run:
    """A finished run of alice's, of the team template, shared with Acme."""
    return finished_run(alice, team_template, team=team)
