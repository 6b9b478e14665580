"""A model that repeats the key (the simulator's echokey fault): the key is in no batch page,
poll answer or export, as on the run page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from playground.batches.models import CellStatus
from tests.batches.conftest import (
    SIM_KEY,
    Sim,
    Worker,
    final_cells,
    launch,
    make_credential,
    make_input_set,
    story_template,
    wait_finished,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_key_never_reaches_the_grid_or_an_export(sim: Sim, worker: Worker) -> None:
    user = make_user("rivest")
    template = story_template(user)
    input_set = make_input_set(template, 2)
    key = make_credential(user, sim)
    batch = launch(user, template, input_set, [(key, "deepseek-chat-fault-echokey")])
    wait_finished(batch)
    cells = final_cells(batch)
    assert {c.status for c in cells} == {CellStatus.DONE}
    assert all(c.segment and "[key]" in c.segment.text for c in cells)  # it was echoed, scrubbed
    client = Client()
    client.force_login(user)
    bodies = [
        client.get(reverse("batches:detail", args=[batch.code])).content,
        client.get(reverse("batches:detail", args=[batch.code]) + "?view=rendered").content,
        client.get(reverse("batches:poll", args=[batch.code]) + "?since=2000-01-01").content,
        client.get(reverse("batches:list")).content,
    ]
    for kind in ("csv", "jsonl"):
        response = client.get(reverse("batches:export", args=[batch.code, kind]))
        bodies.append(b"".join(response.streaming_content))
    for body in bodies:
        text = body.decode()
        for start in range(0, len(SIM_KEY) - 8):
            assert SIM_KEY[start : start + 8] not in text
