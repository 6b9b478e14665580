"""Budgets hold under concurrency: 20 runs started at once by one member with budget for 3.

Each thread has its own database connection, as separate web processes would; the reservation
is taken under the member's and the credential's locks (playground/locks.py) in the transaction
that creates the run. On PostgreSQL (the must-hold) those are advisory locks; on SQLite the
database's write lock. The run cap is raised out of the way so only the budget can refuse.
"""

from __future__ import annotations

from typing import Any

import pytest

from playground.accounts.models import Team, User
from playground.keys.models import TeamBudget, TeamUse
from playground.runs.models import Run
from playground.runs.team_keys import TeamUseRefused
from tests.factories import add_member, make_user
from tests.keys.team_helpers import make_team_credential, member_budget, reserve_size
from tests.runs.conftest import start_run
from tests.runs.test_caps import _all_at_once

pytestmark = pytest.mark.django_db(transaction=True)

MAX_TOKENS = 100


@pytest.mark.parametrize("budget_on", ["member", "credential"])
def test_twenty_concurrent_runs_with_budget_for_three_create_at_most_three(
    team: Team, alice: User, victor: User, settings: Any, budget_on: str
) -> None:
    settings.MAX_CONCURRENT_RUNS_PER_USER = 100
    credential = make_team_credential(team, alice)
    probe = start_run(alice, [(credential, "deepseek-chat")], parameters={"max_tokens": MAX_TOKENS})
    each = reserve_size(probe, MAX_TOKENS)
    Run.objects.filter(pk=probe.pk).delete()
    TeamUse.objects.all().delete()
    budget = member_budget(team, victor, 3 * each + each // 2)
    if budget_on == "credential":
        budget.user, budget.credential = None, credential
        budget.save()

    results = _all_at_once(
        lambda: start_run(
            victor, [(credential, "deepseek-chat")], parameters={"max_tokens": MAX_TOKENS}
        ),
        count=20,
    )

    runs = [result for result in results if isinstance(result, Run)]
    refused = [result for result in results if isinstance(result, TeamUseRefused)]
    assert len(runs) == 3, results
    assert len(refused) == 17, [r for r in results if not isinstance(r, Run)]
    assert Run.objects.filter(user=victor).count() == 3
    assert TeamUse.objects.filter(user=victor).count() == 3
    assert "Over budget" in str(refused[0])


def test_a_credential_budget_holds_when_four_members_start_at_once(
    team: Team, alice: User, bob: User, victor: User, settings: Any
) -> None:
    # Different members do not share the run cap's per-user lock: only the credential's lock
    # stands between their reservations.
    settings.MAX_CONCURRENT_RUNS_PER_USER = 100
    dora = make_user("dora")
    add_member(team, dora)
    credential = make_team_credential(team, alice)
    probe = start_run(alice, [(credential, "deepseek-chat")], parameters={"max_tokens": MAX_TOKENS})
    each = reserve_size(probe, MAX_TOKENS)
    Run.objects.filter(pk=probe.pk).delete()
    TeamUse.objects.all().delete()
    TeamBudget.objects.create(team=team, credential=credential, monthly_tokens=3 * each + 1)
    members = [alice, bob, victor, dora] * 5
    turn = iter(range(20))

    def start() -> Run:
        member = members[next(turn)]
        return start_run(
            member, [(credential, "deepseek-chat")], parameters={"max_tokens": MAX_TOKENS}
        )

    results = _all_at_once(start, count=20)

    runs = [result for result in results if isinstance(result, Run)]
    assert len(runs) == 3, results
    assert all(isinstance(r, TeamUseRefused) for r in results if not isinstance(r, Run)), results
    assert TeamUse.objects.count() == 3
