"""What a run start costs the database: the start's inserts, the stream's opening, the sweep.

Counted statements, not timings: BENCHMARKS.md ("Run starts") has the CPU figures. The sweep
still happens where it changes something: a stream that claims nothing, and a start at the cap.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playground.accounts.models import User
from playground.runs import stream_endpoint, stream_tokens, streaming
from playground.runs.models import Run, RunStatus, Segment, SegmentStatus
from tests.keys.factories import make_credential
from tests.runs.conftest import start_run

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def _statements(captured: CaptureQueriesContext, table: str, verb: str) -> int:
    return sum(
        1
        for query in captured.captured_queries
        if query["sql"].lstrip().upper().startswith(verb) and table in query["sql"]
    )


def test_a_three_column_start_inserts_once_per_table_and_reads_the_keys_once(
    alice_client: Client, alice: User
) -> None:
    credentials = [make_credential(alice, label=f"Key {n}") for n in range(3)]
    data = {
        "prefix": "Once",
        "turns-0-role": "user",
        "turns-0-content": "Tell a story.",
    }
    for index, credential in enumerate(credentials):
        data[f"t{index}-credential"] = str(credential.code)
        data[f"t{index}-model"] = "deepseek-chat"

    with CaptureQueriesContext(connection) as captured:
        response = alice_client.post("/runs/new/", data, headers=HX)

    assert response.status_code == 200
    run = Run.objects.get()
    body = response.content.decode()
    assert body.count('class="column"') == 3
    for credential in credentials:
        assert credential.label in body
    assert _statements(captured, "runs_runcolumn", "INSERT") == 1
    assert _statements(captured, "runs_segment", "INSERT") == 1
    assert _statements(captured, "keys_credential", "SELECT") == 1
    # The fragment is rendered from what was inserted: nothing read back.
    assert _statements(captured, "runs_runcolumn", "SELECT") == 0
    assert _statements(captured, "runs_segment", "SELECT") == 0
    # Below the cap, nothing to sweep.
    assert _statements(captured, "runs_segment", "UPDATE") == 0
    columns = run.columns.order_by("position")
    assert [c.credential_id for c in columns] == [c.pk for c in credentials]
    assert Segment.objects.filter(column__run=run, status=SegmentStatus.PENDING).count() == 3


def test_a_key_someone_else_owns_is_still_refused_by_its_row(
    alice_client: Client, alice: User, charlie: User
) -> None:
    mine, theirs = make_credential(alice), make_credential(charlie)
    data = {"prefix": "Once", "t0-model": "deepseek-chat", "t1-model": "deepseek-chat"}
    data |= {"t0-credential": str(mine.code), "t1-credential": str(theirs.code)}

    response = alice_client.post("/runs/new/", data, headers=HX)

    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Run.objects.exists()


@pytest.mark.django_db(transaction=True)  # the opening closes its connection, as in a thread
def test_opening_a_new_runs_stream_claims_in_four_statements_without_a_sweep(
    alice: User, alice_client: Client
) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")] * 3)
    session_key = alice_client.cookies["sessionid"].value
    grant = stream_tokens.verify(
        stream_tokens.mint(run.pk, str(run.code), alice.pk, session_key), str(run.code), session_key
    )
    assert grant is not None

    with CaptureQueriesContext(connection) as captured:
        plan = stream_endpoint._plan_if_signed_in(grant, session_key)

    assert not isinstance(plan, str) and len(plan.jobs) == 3
    assert [job.index for job in plan.jobs] == [0, 1, 2]
    assert plan.column_count == 3
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 4, statements  # session check, claim, segments, verdicts
    assert not any("interrupted" in sql for sql in statements)


@pytest.mark.django_db(transaction=True)
def test_a_stream_that_claims_nothing_sweeps_first_so_its_replay_is_true(
    alice: User, settings: Any
) -> None:
    settings.RUN_UNOPENED_GRACE_SECONDS = 5
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])
    Segment.objects.update(created_at=timezone.now() - timedelta(seconds=6))

    plan = streaming.plan_stream(run.pk)

    assert plan.jobs == []
    segment = Segment.objects.get(column__run=run)
    assert segment.status == SegmentStatus.INTERRUPTED and segment.started_at is None
    run.refresh_from_db()
    assert run.status == RunStatus.INTERRUPTED


# What can happen between the page and its stream request, and how the stream is refused.
REFUSALS = {
    "signed out": stream_endpoint.SIGNED_OUT,
    "session expired": stream_endpoint.SIGNED_OUT,
    "another user's grant": stream_endpoint.GONE,
    "run deleted": stream_endpoint.GONE,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_stream_refused_after_its_page_claims_nothing(
    alice: User, alice_client: Client, case: str
) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])
    session_key = alice_client.cookies["sessionid"].value
    user_id = alice.pk
    if case == "signed out":
        alice_client.logout()
    elif case == "session expired":
        expired = timezone.now() - timedelta(seconds=1)
        Session.objects.filter(session_key=session_key).update(expire_date=expired)
    elif case == "another user's grant":
        user_id += 1000
    else:
        run.delete()
    grant = stream_tokens.StreamGrant(run.pk, str(run.code), user_id)

    assert stream_endpoint._plan_if_signed_in(grant, session_key) == REFUSALS[case]
    claimed = Segment.objects.filter(column__run_id=run.pk).exclude(status=SegmentStatus.PENDING)
    assert not claimed.exists()


@pytest.mark.django_db(transaction=True)
def test_saving_a_run_of_personal_keys_asks_nothing_of_team_reservations(alice: User) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")] * 3)
    plan = streaming.plan_stream(run.pk)

    with CaptureQueriesContext(connection) as captured:
        streaming.persist(plan, streaming.unstarted_outcomes(plan))

    statements = [q["sql"] for q in captured.captured_queries]
    assert not any("teamuse" in sql.lower() for sql in statements), statements
    assert _statements(captured, "runs_segment", "UPDATE") == 3
    assert Segment.objects.filter(column__run=run, status=SegmentStatus.STOPPED).count() == 3
