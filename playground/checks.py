"""Deploy checks of our own, run by `manage.py check --deploy` (the Procfile's release line)."""

from __future__ import annotations

from collections.abc import Sequence

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Names that can only mean this machine. A local trial over plain HTTP answers to these alone.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@register(Tags.security, deploy=True)
def check_local_http_trial(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: object
) -> list[CheckMessage]:
    """Fail the deploy check when LOCAL_HTTP_TRIAL is on for hosts other than this machine."""
    if settings.DEBUG or not settings.LOCAL_HTTP_TRIAL:
        return []
    others = [host for host in settings.ALLOWED_HOSTS if host.lower() not in LOOPBACK_HOSTS]
    if not others:
        return []
    return [
        Error(
            "LOCAL_HTTP_TRIAL is on, which turns off HTTPS, but ALLOWED_HOSTS names "
            f"{', '.join(sorted(others))}.",
            hint="LOCAL_HTTP_TRIAL is for trying the production configuration on this machine "
            "(ALLOWED_HOSTS=127.0.0.1,localhost). Unset it for a real deploy.",
            id="playground.E001",
        )
    ]
