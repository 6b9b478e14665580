from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from playground.keys import crypto
from tests.keys.factories import SECRET

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def test_it_round_trips_a_key(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    token = crypto.encrypt(SECRET)
    assert SECRET not in token
    assert crypto.decrypt(token) == SECRET


def test_it_round_trips_non_ascii_text(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    assert crypto.decrypt(crypto.encrypt("clé-密钥-ключ")) == "clé-密钥-ключ"


def test_it_encrypts_under_the_first_key_and_decrypts_with_any(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    old_token = crypto.encrypt(SECRET)
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    new_token = crypto.encrypt(SECRET)
    assert crypto.decrypt(old_token) == SECRET
    assert Fernet(KEY_B).decrypt(new_token.encode()).decode() == SECRET


def test_it_rotates_a_token_onto_the_first_key(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    token = crypto.encrypt(SECRET)
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    rotated = crypto.rotate(token)
    settings.ENCRYPTION_KEYS = [KEY_B]
    assert crypto.decrypt(rotated) == SECRET


def test_it_fails_without_the_key_or_the_plaintext_in_the_error(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    token = crypto.encrypt(SECRET)
    settings.ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(crypto.DecryptionError) as info:
        crypto.decrypt(token)
    for text in (str(info.value), repr(info.value)):
        assert SECRET not in text
        assert KEY_A not in text
        assert KEY_B not in text
    assert info.value.__cause__ is None
    with pytest.raises(crypto.DecryptionError):
        crypto.rotate(token)


def test_it_refuses_a_token_that_is_not_one(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("not a token ✗")


def test_it_names_a_bad_configured_key_by_position_only(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [KEY_A, "not-a-fernet-key-but-a-secret"]
    with pytest.raises(ImproperlyConfigured) as info:
        crypto.encrypt(SECRET)
    assert "entry 2" in str(info.value)
    assert "not-a-fernet-key-but-a-secret" not in str(info.value)
    assert SECRET not in str(info.value)
