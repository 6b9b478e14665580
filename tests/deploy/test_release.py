"""The Procfile's release line, run as the platform runs it, on a fresh database.

It runs on SQLite always and, when DATABASE_URL names PostgreSQL (as in CI), on a fresh
PostgreSQL database on that server too. After it the library holds the starter templates; a
second release duplicates nothing and keeps a starter edited on the site as it was edited.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.deploy.test_settings import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parents[2]
STARTER_COUNT = len(
    json.loads((ROOT / "playground/prompts/starter_library.json").read_text())["templates"]
)


def procfile_line(name: str) -> str:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line)[name]


def run_shell(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `script` with bash in the repository, `python` being this virtualenv's."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith("DJANGO_ALLOW")
    }
    base["PATH"] = f"{Path(sys.executable).parent}:{base.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _postgres_server() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _engines() -> list[str]:
    return ["sqlite", "postgresql"] if _postgres_server() else ["sqlite"]


@pytest.fixture(params=_engines())
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database of the engine under test; drop it afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'release.sqlite3'}"
        return
    server = urlsplit(_postgres_server() or "")
    name = f"{server.path.lstrip('/') or 'playground'}_release_{os.getpid()}"
    admin = urlunsplit(server._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(server._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def release(database_url: str, env: dict[str, str] | None = None) -> str:
    result = run_shell(
        procfile_line("release"), {**PRODUCTION_ENV, **(env or {}), "DATABASE_URL": database_url}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# What a signed-in user's library page shows, asked through the deployed settings.
LIBRARY_PAGE = """
from django.test import Client, override_settings
from django.utils.html import escape
from playground.accounts.models import User
from playground.prompts.models import PrefixTemplate, TemplateRevision
user, _ = User.objects.get_or_create(username="release-check")
client = Client(HTTP_HOST="playground.example.com")
client.force_login(user)
# Static files without the manifest, which only collectstatic (the build) writes.
plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
with override_settings(STORAGES={"default": plain, "staticfiles": plain}):
    page = client.get("/templates/", {"sort": "name"}, secure=True).content.decode()
starters = PrefixTemplate.objects.exclude(key="")
shown = sum(escape(t.name) in page for t in starters)
print(starters.count(), TemplateRevision.objects.count(), shown)
"""


def library(database_url: str) -> list[int]:
    result = run_shell(
        f"python manage.py shell -c '{LIBRARY_PAGE}'",
        {**PRODUCTION_ENV, "DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [int(word) for word in result.stdout.strip().splitlines()[-1].split()]


def edit_a_starter(database_url: str) -> None:
    code = (
        "from playground.prompts.models import PrefixTemplate\n"
        "t = PrefixTemplate.objects.get(key='code-fence-python')\n"
        "t.description = 'Our team prefers this for scripts.'\n"
        "t.save(note='Edited in the admin')\n"
    )
    result = run_shell(
        f'python manage.py shell -c "{code}"', {**PRODUCTION_ENV, "DATABASE_URL": database_url}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def description_of(database_url: str, key: str) -> str:
    code = (
        "from playground.prompts.models import PrefixTemplate as T; "
        f"print(T.objects.get(key='{key}').description)"
    )
    result = run_shell(
        f'python manage.py shell -c "{code}"', {**PRODUCTION_ENV, "DATABASE_URL": database_url}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_release_line_loads_the_starter_library_once_and_keeps_edits(
    empty_database: str,
) -> None:
    first = release(empty_database)

    assert f"Starter library: {STARTER_COUNT} created" in first
    starters, revisions, shown = library(empty_database)
    assert starters == STARTER_COUNT >= 15
    assert shown == STARTER_COUNT  # every starter is on a signed-in user's library page

    second = release(empty_database)

    assert f"0 created, 0 updated, {STARTER_COUNT} unchanged" in second
    assert library(empty_database)[:2] == [STARTER_COUNT, revisions]

    edit_a_starter(empty_database)
    third = release(empty_database)

    assert "0 created, 0 updated" in third
    assert description_of(empty_database, "code-fence-python") == (
        "Our team prefers this for scripts."
    )
    assert library(empty_database)[0] == STARTER_COUNT


# ----- the production configuration over plain HTTP (README, "Try the production
# configuration locally") -----


def readme_trial_exports() -> str:
    """Return the `export` lines of the README's local-trial section, as written there."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try the production configuration locally", 1)[1].split("\n## ")[0]
    exports = [line for line in section.splitlines() if line.startswith("export ")]
    assert any("LOCAL_HTTP_TRIAL=1" in line for line in exports)
    assert any("DEBUG=0" in line for line in exports)
    return "\n".join(exports)


def test_the_readme_commands_run_the_release_line_over_plain_http(empty_database: str) -> None:
    script = (
        "set -e\n"
        f"{readme_trial_exports()}\n"
        f"export DATABASE_URL='{empty_database}'\n"
        f"{procfile_line('release')}\n"
        "python manage.py shell -c "
        "'from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.DEBUG)'\n"
    )
    result = run_shell(script, {})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Starter library:" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "False False False 0 False"


def test_the_deploy_check_fails_on_plain_http_without_the_trial_setting() -> None:
    env = {**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "0", "DATABASE_URL": "sqlite://:memory:"}
    result = run_shell("python manage.py check --deploy --fail-level WARNING", env)
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_the_deploy_check_fails_when_the_trial_setting_reaches_a_real_host() -> None:
    env = {**PRODUCTION_ENV, "LOCAL_HTTP_TRIAL": "1", "DATABASE_URL": "sqlite://:memory:"}
    result = run_shell("python manage.py check --deploy --fail-level WARNING", env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "playground.E001" in output and "playground.example.com" in output
    assert re.search(r"LOCAL_HTTP_TRIAL is on", output)
