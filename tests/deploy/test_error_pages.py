"""Error pages look like the product, not Django's bare defaults."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_renders_a_friendly_404(settings: object, alice_client: Client) -> None:
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Not found" in body
    assert "Prefix Playground" in body
