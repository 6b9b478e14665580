"""Settings come from the environment, fail clearly on bad values, and pass the deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-" + "x7Q9" * 12,
    "ALLOWED_HOSTS": "playground.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://playground.example.com",
    "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    base.pop("DATABASE_URL", None)
    base.pop("REDIS_URL", None)
    base.pop("DJANGO_SETTINGS_MODULE", None)
    # Set by the browser fixture for Playwright's event loop; a real deploy never has it.
    base.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deploy_check_with_production_settings() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("SECURE_HSTS_SECONDS", "a year", "SECURE_HSTS_SECONDS must be a whole number"),
        ("DATABASE_URL", "nosuchdb://x", "DATABASE_URL is not a valid database URL"),
        ("ENCRYPTION_KEYS", "not-a-fernet-key", "entry 1 is not a valid Fernet key"),
        ("CSRF_TRUSTED_ORIGINS", "playground.example.com", "need a scheme"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must start with"),
    ],
)
def test_it_refuses_malformed_values_with_a_clear_message(
    name: str, value: str, message: str
) -> None:
    result = _manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert message in result.stderr
    assert "ImproperlyConfigured" in result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_it_requires_secrets_and_hosts_when_debug_is_off(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_it_never_prints_an_encryption_key_in_its_error() -> None:
    good = Fernet.generate_key().decode()
    result = _manage("check", env={**PRODUCTION_ENV, "ENCRYPTION_KEYS": f"{good},short-secret"})
    assert "entry 2" in result.stderr
    assert "short-secret" not in result.stderr
    assert good not in result.stderr


def test_it_runs_with_nothing_set_for_development() -> None:
    result = _manage("check", env={})
    assert result.returncode == 0, result.stderr


def test_it_uses_redis_for_the_cache_when_redis_url_is_set() -> None:
    code = (
        "import django; django.setup();"
        "from django.core.cache import cache, caches;"
        "cache.set('pp-settings-test', 'ok', 10);"
        "print(type(caches['default']).__name__, cache.get('pp-settings-test'))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["RedisCache", "ok"]


def test_it_turns_on_transport_security_when_debug_is_off() -> None:
    code = (
        "from django.conf import settings;"
        "print(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE,"
        " settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS,"
        " settings.SECURE_PROXY_SSL_HEADER, settings.DATABASES['default']['CONN_MAX_AGE'])"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "playground.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') 0"
    )
