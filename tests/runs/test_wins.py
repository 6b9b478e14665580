"""The template's win table: it counts only the team's runs that the viewer may see, counts
wins from rankings, filters by revision and keeps blind runs unlinked (docs/verdicts.md)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Team, User
from playground.prompts.models import PrefixTemplate
from playground.runs import wins
from playground.runs.wins import Revisions, TargetWins, win_table
from tests.prompts.factories import make_template
from tests.runs.team_runs import HTMX, finished_run, judge


def _rows(
    template: PrefixTemplate, viewer: User, revision: str = Revisions.ALL
) -> dict[str, TargetWins]:
    return {row.model: row for row in win_table(template, viewer, revision).rows}


def test_it_counts_only_the_teams_runs_that_the_viewer_may_see(
    alice: User, bob: User, victor: User, charlie: User, team: Team, team_template: PrefixTemplate
) -> None:
    other = Team.objects.get(name="Other")
    counted = finished_run(alice, team_template, ("chat", "reasoner"), team=team)
    judge(counted, bob, 0)
    not_shared = finished_run(bob, team_template, ("chat", "qwen"))  # a member's private run
    judge(not_shared, bob, 1)
    outsider = finished_run(charlie, team_template, ("chat", "qwen"), team=other)
    judge(outsider, charlie, 1)
    unjudged = finished_run(alice, team_template, ("qwen", "chat"), team=team)
    other_template = finished_run(alice, make_template(alice), ("qwen", "chat"), team=team)
    judge(other_template, alice, 0)

    rows = _rows(team_template, victor)
    assert set(rows) == {"deepseek-chat", "deepseek-reasoner"}
    assert (rows["deepseek-chat"].wins, rows["deepseek-chat"].judged) == (1, 1)
    assert (rows["deepseek-reasoner"].wins, rows["deepseek-reasoner"].judged) == (0, 1)
    table = win_table(team_template, victor)
    assert (table.judged_runs, table.verdicts) == (1, 1)
    # bob sees his own private run too: what the viewer may see, and nothing more.
    assert _rows(team_template, bob)["qwen3-max"].wins == 1
    assert "qwen3-max" not in _rows(team_template, alice)
    # Shared later: counted from then on.
    not_shared.share_with(bob, team)
    assert _rows(team_template, victor)["qwen3-max"].wins == 1
    assert unjudged.pk not in _rows(team_template, victor)["deepseek-chat"].runs
    # What victor may open and has not judged: listed so that he can find it.
    assert {link.code for link in table.to_judge} == {counted.code, unjudged.code}
    judge(unjudged, victor, 0)
    assert unjudged.code not in {link.code for link in win_table(team_template, victor).to_judge}


def test_after_a_member_leaves_their_shared_runs_no_longer_count(
    alice: User, victor: User, team: Team, team_template: PrefixTemplate
) -> None:
    run = finished_run(victor, team_template, ("chat", "qwen"), team=team)
    judge(run, victor, 1)
    assert _rows(team_template, alice)["qwen3-max"].wins == 1
    team.remove_member(team.memberships.get(user=victor))
    assert _rows(team_template, alice) == {}
    # and the template itself is no longer theirs to see
    client = Client()
    client.force_login(victor)
    learned = reverse("runs:template_learned", args=[team_template.code])
    assert client.get(learned).status_code == 404


def test_wins_come_from_the_column_ranked_first_of_each_verdict(
    alice: User, bob: User, victor: User, team: Team, team_template: PrefixTemplate
) -> None:
    first = finished_run(alice, team_template, ("chat", "reasoner", "qwen"), team=team)
    judge(first, alice, 1, 0, 2)  # reasoner
    judge(first, bob, 0)  # chat
    judge(first, victor, 2, 1)  # qwen
    second = finished_run(bob, team_template, ("chat", "reasoner"), team=team)
    judge(second, bob, 1)  # reasoner
    empty = finished_run(bob, team_template, ("chat", "reasoner"), team=team)
    judge(empty, bob)  # an empty ranking picks nothing
    judge(finished_run(bob, team_template, ("chat",), team=team), bob, 7)  # no such column

    table = win_table(team_template, victor)
    rows = {row.model: row for row in table.rows}
    reasoner, chat, qwen = rows["deepseek-reasoner"], rows["deepseek-chat"], rows["qwen3-max"]
    assert (reasoner.wins, reasoner.judged, reasoner.run_count, reasoner.win_rate) == (
        2,
        4,
        2,
        50.0,
    )
    assert (chat.wins, chat.judged, chat.run_count, chat.win_rate) == (1, 4, 2, 25.0)
    assert (qwen.wins, qwen.judged, qwen.run_count, qwen.win_rate) == (1, 3, 1, 33.3)
    assert [row.model for row in table.rows] == ["deepseek-reasoner", "qwen3-max", "deepseek-chat"]
    assert (table.judged_runs, table.verdicts) == (2, 4)
    assert [link.code for link in reasoner.won_in] == [second.code, first.code]  # newest first
    assert reasoner.label == "DeepSeek · deepseek-reasoner"
    assert qwen.label == "Alibaba DashScope (Qwen) · qwen3-max"


def test_the_current_revision_filter_counts_runs_of_the_latest_revision(
    alice: User, team: Team, team_template: PrefixTemplate, alice_client: Client
) -> None:
    old = finished_run(alice, team_template, ("chat", "reasoner"), team=team)
    judge(old, alice, 0)
    team_template.prefix = "```rust\n"
    team_template.save(author=alice)
    new = finished_run(alice, team_template, ("chat", "reasoner"), team=team)
    judge(new, alice, 1)
    assert (old.template_revision, new.template_revision) == (1, 2)
    assert _rows(team_template, alice)["deepseek-chat"].wins == 1
    current = _rows(team_template, alice, Revisions.CURRENT)
    assert (current["deepseek-chat"].wins, current["deepseek-reasoner"].wins) == (0, 1)
    url = reverse("runs:template_learned", args=[team_template.code])
    body = alice_client.get(url, {"revision": "current"}, **HTMX).content.decode()
    assert "made from revision 2" in body and "Current revision (r2)" in body


def test_a_rerun_keeps_the_revision_of_its_source(
    alice: User, alice_client: Client, team_template: PrefixTemplate
) -> None:
    old = finished_run(alice, team_template)
    team_template.prefix = "```rust\n"
    team_template.save(author=alice)
    alice_client.post(reverse("runs:rerun", args=[old.code]))
    rerun = team_template.runs.order_by("-id").first()
    assert rerun is not None and rerun.pk != old.pk
    assert rerun.template_revision == 1


@pytest.mark.parametrize("value", ["junk", "", "CURRENT", "all;drop"])
def test_a_bad_revision_filter_answers_422_with_a_message(
    alice_client: Client, team_template: PrefixTemplate, value: str
) -> None:
    url = reverse("runs:template_learned", args=[team_template.code])
    response = alice_client.get(url, {"revision": value}, **HTMX)
    assert response.status_code == 422
    assert "Choose all revisions or the current one." in response.content.decode()


def test_a_blind_run_is_counted_but_not_linked_until_the_viewers_verdict(
    alice: User, victor: User, victor_client: Client, team: Team, team_template: PrefixTemplate
) -> None:
    blind = finished_run(alice, team_template, ("chat", "reasoner"), team=team, blind=True)
    judge(blind, alice, 1)
    table = win_table(team_template, victor)
    assert table.rows[0].model == "deepseek-reasoner" and table.rows[0].wins == 1
    assert table.rows[0].won_in == []
    assert [link.code for link in table.unlinked] == [blind.code]
    url = reverse("runs:template_learned", args=[team_template.code])
    body = victor_client.get(url, **HTMX).content.decode()
    assert body.count(str(blind.code)) == 1 and "blind run of" in body
    judge(blind, victor, 0)
    table = win_table(team_template, victor)
    assert table.unlinked == [] and [link.code for link in table.rows[0].won_in] == [blind.code]


def test_the_page_shows_counts_links_and_an_svg_chart(
    alice: User, bob: User, bob_client: Client, team: Team, team_template: PrefixTemplate
) -> None:
    run = finished_run(alice, team_template, ("chat", "qwen"), team=team)
    judge(run, bob, 1)
    body = bob_client.get(
        reverse("runs:template_learned", args=[team_template.code]), **HTMX
    ).content.decode()
    assert '<svg class="chart wins-chart"' in body and "<script" not in body
    assert "Win rate per target" in body and "100 %" in body
    assert reverse("runs:detail", args=[run.code]) in body
    assert "1 verdict on 1 run you can open" in body


def test_the_runs_read_are_bounded(
    alice: User, team: Team, team_template: PrefixTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wins, "MAX_WIN_RUNS", 2)
    runs = [finished_run(alice, team_template, ("chat", "reasoner"), team=team) for _ in range(3)]
    for run in runs:
        judge(run, alice, 0)
    table = win_table(team_template, alice)
    assert table.capped and table.judged_runs == 2
    assert table.rows[0].runs == {runs[1].pk, runs[2].pk}
