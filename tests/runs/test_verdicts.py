"""Verdicts on runs and blind mode's rules: who may judge what, rankings, blind order, and the
pages that refuse to show a blind run's targets before the viewer's verdict (docs/verdicts.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client

from playground.accounts.models import Team, User
from playground.keys.models import Credential
from playground.providers.prompt import Prompt
from playground.runs.models import Run, Segment
from playground.runs.verdict_page import Typed
from playground.runs.verdicts import MAX_NOTE_CHARS, Verdict, VerdictRefused
from tests.keys.factories import make_credential

pytestmark = pytest.mark.django_db

MODELS = ["deepseek-chat", "mistral-small-latest", "claude-haiku-4-5"]
HX = {"HX-Request": "true"}


def _credentials(user: User) -> list[Credential]:
    return [
        make_credential(user, provider="deepseek", label="Label-Deep"),
        make_credential(user, provider="mistral", label="Label-Mist"),
        make_credential(user, provider="anthropic", label="Label-Anth"),
    ]


def _start(user: User, *, blind: bool, finished: bool = True) -> Run:
    credentials = _credentials(user)
    prompt = Prompt.from_json(
        {"turns": [{"role": "user", "content": "Hi", "images": []}], "prefix": "Once"}
    )
    run = Run.objects.start(
        user=user,
        prompt=prompt,
        targets=[
            {"credential": c, "model": m, "overrides": {}}
            for c, m in zip(credentials, MODELS, strict=True)
        ],
        blind=blind,
    )
    if finished:
        Segment.objects.filter(column__run=run).update(status="done", text=" upon a time")
        run.refresh_status()
    return run


# The model's rules.


def test_a_blind_run_draws_a_random_letter_order_and_random_positions(alice: User) -> None:
    orders, layouts = set(), set()
    for _ in range(12):
        run = _start(alice, blind=True)
        assert sorted(run.blind_order) == [0, 1, 2]
        orders.add(tuple(run.blind_order))
        layouts.add(tuple(run.columns.order_by("position").values_list("model", flat=True)))
        assert sorted(run.columns.values_list("model", flat=True)) == sorted(MODELS)
    # 12 draws of 6 orders each: all alike has a chance of 6**-11.
    assert len(orders) > 1 and len(layouts) > 1
    plain = _start(alice, blind=False)
    assert plain.blind_order == []
    assert list(plain.columns.order_by("position").values_list("model", flat=True)) == MODELS


def test_letters_follow_blind_order(alice: User) -> None:
    run = _start(alice, blind=True)
    run.blind_order = [2, 0, 1]
    assert [run.letter_of(p) for p in (0, 1, 2)] == ["B", "C", "A"]
    shown = run.in_blind_order(run.columns.all())
    assert [column.position for column in shown] == [2, 0, 1]


def test_names_stay_hidden_from_each_viewer_until_their_own_verdict(
    alice: User, bob: User, team: Team
) -> None:
    run = _start(alice, blind=True)
    run.team = team
    run.save()
    assert run.hides_names_from(alice.pk) and run.hides_names_from(bob.pk)
    assert run.hides_names_from(None)
    Verdict.objects.record(run, bob, [1])
    assert run.hides_names_from(alice.pk), "bob's verdict is his own"
    assert not run.hides_names_from(bob.pk)
    Verdict.objects.record(run, alice, [0])
    assert not run.hides_names_from(alice.pk)
    assert not _start(alice, blind=False).hides_names_from(alice.pk)


def test_who_may_give_a_verdict(alice: User, bob: User, charlie: User, team: Team) -> None:
    run = _start(alice, blind=False)
    Verdict.objects.record(run, alice, [0])  # the owner
    with pytest.raises(VerdictRefused, match="cannot give a verdict"):
        Verdict.objects.record(run, bob, [0])  # a teammate, run not shared
    run.team = team
    run.save()
    Verdict.objects.record(run, bob, [2, 0])  # shared with his team
    with pytest.raises(VerdictRefused, match="cannot give a verdict"):
        Verdict.objects.record(run, charlie, [0])  # an outsider
    assert Verdict.objects.filter(run=run).count() == 2


def test_a_run_still_streaming_cannot_be_judged(alice: User) -> None:
    run = _start(alice, blind=True, finished=False)
    with pytest.raises(VerdictRefused, match="still streaming"):
        Verdict.objects.record(run, alice, [0])
    assert not Verdict.objects.exists()


@pytest.mark.parametrize(
    ("ranking", "message"),
    [
        ([], "Pick the best column"),
        ([0, 0], "at most once"),
        ([0, 1, 2, 0], "has 3 columns"),
        ([7], "does not have"),
    ],
)
def test_a_ranking_must_name_the_runs_columns(
    alice: User, ranking: list[int], message: str
) -> None:
    run = _start(alice, blind=False)
    with pytest.raises(VerdictRefused, match=message):
        Verdict.objects.record(run, alice, ranking)


def test_a_note_has_a_limit_and_a_verdict_can_change(alice: User) -> None:
    run = _start(alice, blind=False)
    with pytest.raises(VerdictRefused, match="4,000"):
        Verdict.objects.record(run, alice, [0], "x" * (MAX_NOTE_CHARS + 1))
    Verdict.objects.record(run, alice, [0], "first")
    changed = Verdict.objects.record(run, alice, [2, 1, 0], "second")
    assert Verdict.objects.filter(run=run, user=alice).count() == 1
    assert changed.ranking == [2, 1, 0] and changed.note == "second" and changed.best == 2


@pytest.mark.parametrize(
    ("ranks", "expected"),
    [
        ({0: "", 1: "1", 2: ""}, [1]),
        ({0: "2", 1: "1", 2: "3"}, [1, 0, 2]),
        ({0: "", 1: "", 2: ""}, "Pick the best column"),
        ({0: "1", 1: "1", 2: ""}, "Two columns are ranked 1st"),
        ({0: "1", 1: "3", 2: ""}, "no column is ranked 2nd"),
        ({0: "x", 1: "1", 2: ""}, "from 1st to 3rd"),
        ({0: "9", 1: "1", 2: ""}, "from 1st to 3rd"),
    ],
)
def test_the_form_reads_ranks_into_a_ranking(ranks: dict[int, str], expected: Any) -> None:
    data = QueryDict(mutable=True)
    for position, value in ranks.items():
        data[f"rank-{position}"] = value
    data["rank-99"] = "1"  # not a column of this run: ignored
    typed = Typed.read(data, list(ranks))
    if isinstance(expected, list):
        assert typed.ranking() == expected
    else:
        with pytest.raises(VerdictRefused, match=expected):
            typed.ranking()


# The pages.


def test_giving_and_changing_a_verdict_in_the_page(alice_client: Client, alice: User) -> None:
    run = _start(alice, blind=False)
    page = alice_client.get(f"/runs/{run.code}/").content.decode()
    assert "Your verdict" in page and 'name="rank-0"' in page
    response = alice_client.post(
        f"/runs/{run.code}/verdict/", {"rank-0": "", "rank-1": "1", "note": "crisp"}, headers=HX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Change your verdict" in body and "crisp" in body
    assert "1st</span> Mistral · mistral-small-latest" in body
    assert Verdict.objects.get(run=run, user=alice).ranking == [1]
    alice_client.post(f"/runs/{run.code}/verdict/", {"rank-0": "1", "rank-2": "2", "note": ""})
    assert Verdict.objects.get(run=run, user=alice).ranking == [0, 2]


def test_bad_input_answers_422_and_keeps_what_was_typed(alice_client: Client, alice: User) -> None:
    run = _start(alice, blind=False)
    typed = {"rank-0": "2", "rank-1": "2", "note": "my careful note"}
    response = alice_client.post(f"/runs/{run.code}/verdict/", typed, headers=HX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "Two columns are ranked 2nd" in body
    assert "my careful note" in body
    assert body.count('value="2" selected') == 2
    long = alice_client.post(
        f"/runs/{run.code}/verdict/", {"rank-0": "1", "note": "y" * 4001}
    )  # without htmx: the whole page, 422
    assert long.status_code == 422 and "the most is 4,000" in long.content.decode()
    assert "<html" in long.content.decode()
    assert not Verdict.objects.exists()


def test_a_verdict_on_a_running_run_is_refused_in_the_page(
    alice_client: Client, alice: User
) -> None:
    run = _start(alice, blind=False, finished=False)
    response = alice_client.post(f"/runs/{run.code}/verdict/", {"rank-0": "1"}, headers=HX)
    assert response.status_code == 422 and "still streaming" in response.content.decode()


def test_only_those_who_may_open_the_run_reach_its_verdict(
    alice: User, bob_client: Client, charlie_client: Client, team: Team
) -> None:
    run = _start(alice, blind=False)
    url = f"/runs/{run.code}/verdict/"
    assert charlie_client.post(url, {"rank-0": "1"}).status_code == 404
    assert bob_client.post(url, {"rank-0": "1"}).status_code == 404  # not shared yet
    run.team = team
    run.save()
    assert bob_client.post(url, {"rank-0": "1"}, headers=HX).status_code == 200
    assert charlie_client.post(url, {"rank-0": "1"}).status_code == 404
    assert Verdict.objects.filter(run=run).count() == 1


def test_tools_refuse_a_blind_run_until_the_verdict(alice_client: Client, alice: User) -> None:
    run = _start(alice, blind=True)
    urls = [
        f"/runs/{run.code}/columns/0/inspect/",
        f"/runs/{run.code}/columns/0/code/",
        f"/runs/{run.code}/columns/0/download.json",
        f"/runs/{run.code}/diff/",
    ]
    for url in urls:
        response = alice_client.get(url)
        assert response.status_code == 403, url
        body = response.content.decode()
        assert "Give your verdict first" in body
        for name in ("deepseek", "mistral", "anthropic", "claude", "Label-"):
            assert name.lower() not in body.lower(), (url, name)
    text = alice_client.get(f"/runs/{run.code}/columns/0/download.txt")
    assert text.status_code == 200
    letter = run.letter_of(0)
    assert text["Content-Disposition"].endswith(f'-column-{letter}.txt"')  # no model in it
    response = alice_client.post(f"/runs/{run.code}/verdict/", {"rank-1": "1"}, headers=HX)
    assert response["HX-Redirect"] == f"/runs/{run.code}/"  # the page reloads, names and all
    for url in urls:
        assert alice_client.get(url).status_code == 200, url
    text = alice_client.get(f"/runs/{run.code}/columns/0/download.txt")
    assert run.columns.get(position=0).model in text["Content-Disposition"]


def test_starting_a_blind_run_opens_its_page_and_the_box_is_remembered(
    alice_client: Client, alice: User
) -> None:
    credential = make_credential(alice, label="Label-Deep")
    form = {
        "prefix": "Once",
        "turns-0-role": "user",
        "turns-0-content": "Hi",
        "t0-credential": str(credential.code),
        "t0-model": "deepseek-chat",
        "blind": "on",
    }
    response = alice_client.post("/runs/new/", form, headers=HX)
    assert response.status_code == 200, response.content.decode()[:2000]
    run = Run.objects.get(user=alice)
    assert run.blind and run.blind_order == [0]
    assert response["HX-Redirect"] == f"/runs/{run.code}/"
    assert "deepseek" not in response.content.decode().lower()
    assert "checked" in _blind_box(alice_client.get("/runs/?blank=1").content.decode())
    del form["blind"]
    response = alice_client.post("/runs/new/", form, headers=HX)
    assert "HX-Redirect" not in response
    assert "checked" not in _blind_box(alice_client.get("/runs/?blank=1").content.decode())


def _blind_box(page: str) -> str:
    start = page.index('name="blind"')
    return page[page.rindex("<input", 0, start) : page.index(">", start) + 1]


def test_history_and_compare_keep_a_blind_run_blind(alice_client: Client, alice: User) -> None:
    def key_order(run: Run) -> list[str]:
        keys = {c.model: str(c.credential.code) for c in run.columns.all() if c.credential}
        return sorted(MODELS, key=lambda model: (keys[model], model))

    for _ in range(30):  # a run whose random positions differ from the order the page uses
        run = _start(alice, blind=True)
        positions = list(run.columns.order_by("position").values_list("model", flat=True))
        if positions != key_order(run):
            break
        run.delete()
    history = alice_client.get("/runs/history/").content.decode()
    assert "Blind · 3 columns" in history
    assert "mistral-small-latest" not in history
    compare = alice_client.get(f"/runs/?run={run.code}").content.decode()
    shown = sorted(MODELS, key=lambda model: compare.index(f'value="{model}"'))
    # Listed in an order of their own (by key and model), never the run's random positions.
    assert shown == key_order(run)
    Verdict.objects.record(run, alice, [0])
    history = alice_client.get("/runs/history/").content.decode()
    assert "Blind · 3 columns" not in history and "mistral-small-latest" in history


def test_a_refused_verdict_without_htmx_shows_its_message_on_the_page(
    alice_client: Client, alice: User
) -> None:
    run = _start(alice, blind=False, finished=False)
    response = alice_client.post(f"/runs/{run.code}/verdict/", {"rank-0": "1", "note": "kept"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "still streaming" in body and "kept" in body and "<html" in body


def test_a_team_keys_refusal_on_retry_names_no_target_in_a_blind_run(
    alice_client: Client, alice: User, team: Team
) -> None:
    from tests.keys.team_helpers import make_team_credential, member_budget

    credential = make_team_credential(team, alice, label="Shared Canary Key")
    prompt = Prompt.from_json({"turns": [], "prefix": "Once"})
    target = {"credential": credential, "model": "deepseek-chat", "overrides": {"max_tokens": 500}}
    run = Run.objects.start(user=alice, prompt=prompt, targets=[target], blind=True)
    Segment.objects.filter(column__run=run).update(status="done", text=" upon")
    run.refresh_status()
    member_budget(team, alice, 10)  # too little for max_tokens 500
    response = alice_client.post(f"/runs/{run.code}/columns/0/segments/0/retry/", headers=HX)
    body = response.content.decode()
    assert "refused to send this column again" in body
    assert "deepseek" not in body.lower() and "Shared Canary Key" not in body
    Verdict.objects.record(run, alice, [0])
    response = alice_client.post(f"/runs/{run.code}/columns/0/segments/0/retry/", headers=HX)
    assert "Over budget" in response.content.decode()


def test_a_share_link_of_a_blind_run_names_no_target(alice: User) -> None:
    run = _start(alice, blind=True)
    token = run.enable_sharing()
    Verdict.objects.record(run, alice, [0])  # the owner's verdict reveals nothing to readers
    body = Client().get(f"/runs/shared/{token}/").content.decode()
    assert "Column A" in body and "Column C" in body
    for name in ("deepseek", "mistral", "anthropic", "claude", "label-"):
        assert name not in body.lower(), name
