"""A malformed run or template code in the compare page's address is ignored, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from playground.runs.models import Run
from tests.keys.factories import make_credential

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["run=not-a-uuid", "template=not-a-uuid", "run=1&template=%00"])
def test_the_compare_page_starts_blank_on_a_malformed_code(
    alice_client: Client, query: str
) -> None:
    response = alice_client.get(f"/runs/?{query}")
    assert response.status_code == 200
    assert 'id="run-button"' in response.content.decode()


def test_a_malformed_template_code_is_refused_and_the_form_kept(
    alice_client: Client, alice: Any
) -> None:
    credential = make_credential(alice)
    data = {
        "template": "not-a-uuid",
        "system": "",
        "stop": "",
        "prefix": "Once",
        "turns-0-role": "user",
        "turns-0-content": "Tell a story.",
        "t0-credential": str(credential.code),
        "t0-model": "deepseek-chat",
    }
    response = alice_client.post("/runs/new/", data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "Some fields need attention" in body and "Tell a story." in body
    assert not Run.objects.filter(user=alice).exists()
