from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from playground.accounts.models import User
from playground.keys import crypto
from playground.keys.models import Credential
from tests.keys.factories import SECRET, make_credential

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return out.getvalue()


def test_it_re_encrypts_every_key_under_the_first_key(
    settings: Any, alice: User, bob: User
) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    first = make_credential(alice)
    second = make_credential(bob, key="sk-bobs-own-key-0000")
    before = first.key_ciphertext
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert Credential.objects.get(pk=first.pk).reveal_key() == SECRET  # old key still decrypts

    output = _rotate("--batch-size", "1")

    assert "Re-encrypted 2 credentials" in output
    assert SECRET not in output
    settings.ENCRYPTION_KEYS = [KEY_B]  # after rotation only the new key is needed
    assert Credential.objects.get(pk=first.pk).reveal_key() == SECRET
    assert Credential.objects.get(pk=second.pk).reveal_key() == "sk-bobs-own-key-0000"
    assert Credential.objects.get(pk=first.pk).key_ciphertext != before
    settings.ENCRYPTION_KEYS = [KEY_A]  # and the old key alone no longer works
    with pytest.raises(crypto.DecryptionError):
        Credential.objects.get(pk=first.pk).reveal_key()


def test_it_is_safe_to_run_twice(settings: Any, alice: User) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    credential = make_credential(alice)
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    _rotate()
    assert "Re-encrypted 1 credential " in _rotate()
    settings.ENCRYPTION_KEYS = [KEY_B]
    assert Credential.objects.get(pk=credential.pk).reveal_key() == SECRET


def test_it_does_not_touch_the_last_edit_time(settings: Any, alice: User) -> None:
    credential = make_credential(alice)
    _rotate()
    assert Credential.objects.get(pk=credential.pk).updated_at == credential.updated_at


def test_it_reports_zero_when_there_is_nothing_to_rotate(db: None) -> None:
    assert "Re-encrypted 0 credentials" in _rotate()


def test_it_stops_clearly_when_a_key_cannot_be_decrypted(settings: Any, alice: User) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    credential = make_credential(alice)
    settings.ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(CommandError) as info:
        _rotate()
    assert "ENCRYPTION_KEYS" in str(info.value)
    assert SECRET not in str(info.value)
    assert KEY_A not in str(info.value) and KEY_B not in str(info.value)
    assert Credential.objects.get(pk=credential.pk).key_ciphertext == credential.key_ciphertext
