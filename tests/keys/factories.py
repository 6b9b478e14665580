"""Builders for key-vault test data."""

from __future__ import annotations

from typing import Any

from playground.accounts.models import User
from playground.keys.models import Credential

# Distinctive enough that finding it anywhere it should not be is unambiguous.
SECRET = "sk-test-THISISASECRETKEY-1234567890"


def make_credential(user: User, key: str = SECRET, **kwargs: Any) -> Credential:
    """Return a saved credential of `user` holding `key`."""
    kwargs.setdefault("provider", "deepseek")
    kwargs.setdefault("label", "Personal")
    credential = Credential(user=user, **kwargs)
    credential.set_key(key)
    credential.save()
    return credential
