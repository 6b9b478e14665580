"""The Procfile, app.json and README describe the deploy the settings actually read."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings_env_names() -> set[str]:
    source = (ROOT / "playground" / "settings.py").read_text()
    calls = re.findall(r"env_\w+\(\s*\"([A-Z_]+)\"", source)
    gets = re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", source)
    return set(calls) | set(gets)


def test_it_documents_every_environment_variable_in_app_json() -> None:
    documented = set(json.loads((ROOT / "app.json").read_text())["env"])
    missing = _settings_env_names() - documented
    assert not missing, f"app.json lacks {sorted(missing)}"
    assert {"SECRET_KEY", "DATABASE_URL", "ENCRYPTION_KEYS", "REDIS_URL"} <= documented


def test_it_documents_every_environment_variable_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in _settings_env_names():
        assert f"`{name}`" in readme, f"README does not describe {name}"


def test_it_serves_asgi_on_port_with_a_graceful_shutdown_under_30_seconds() -> None:
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    web = procfile["web"]
    assert "playground.asgi:application" in web
    assert "--port $PORT" in web
    grace = int(re.search(r"--timeout-graceful-shutdown (\d+)", web).group(1))  # type: ignore[union-attr]
    assert grace < 30
    release = procfile["release"]
    assert "migrate --noinput" in release
    assert "check --deploy" in release


def test_it_gives_the_two_commands_on_the_readme_first_screen() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:30])
    assert "make run" in first_screen
    assert "make test" in first_screen
