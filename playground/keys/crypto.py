"""Encryption of stored API keys: MultiFernet over settings.ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so an operator rotates by putting a new key first
and running `manage.py rotate_keys`. Errors raised here never carry a key or a plaintext, and
the functions that hold a plaintext are marked sensitive so Django's error reports hide it.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class DecryptionError(Exception):
    """A stored token that none of the configured ENCRYPTION_KEYS can decrypt."""


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    # Cached on the keys themselves, so a changed setting (rotation, tests) takes effect at once.
    if not keys:
        raise ImproperlyConfigured("ENCRYPTION_KEYS is empty: API keys cannot be encrypted.")
    fernets = []
    for index, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS entry {index} is not a valid Fernet key."
            ) from None
    return MultiFernet(fernets)


def _fernet() -> MultiFernet:
    return _multi_fernet(tuple(settings.ENCRYPTION_KEYS))


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    """Return `plaintext` encrypted under the first ENCRYPTION_KEYS entry."""
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str:
    """Return the plaintext of `token`; raise DecryptionError when no configured key fits."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            "A stored API key could not be decrypted with any ENCRYPTION_KEYS entry."
        ) from None


@sensitive_variables()
def rotate(token: str) -> str:
    """Return `token` re-encrypted under the first ENCRYPTION_KEYS entry."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            "A stored API key could not be re-encrypted: no ENCRYPTION_KEYS entry decrypts it."
        ) from None
