"""Whether this instance offers "Try it offline", and where its simulator keys send requests.

One rule for the Keys page, the Compare page, the landing page and `setup_demo`:
- in demo mode (DEMO_MODE) the simulator answers in-process on the reserved SIMULATOR_ORIGIN,
  which the site's HTTP client mounts (playground/http.py): no socket, no DNS, so
  no private base URL has to be allowed;
- otherwise the simulator served under /sim/ works only where loopback base URLs are allowed
  (development: SIMULATOR_ENABLED and ALLOW_PRIVATE_BASE_URLS);
- otherwise nothing is offered, and no page promises it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from playground.providers.inprocess import SIMULATOR_ORIGIN


def offers_offline_demo() -> bool:
    """Return whether simulator keys added here would answer."""
    return bool(
        settings.DEMO_MODE or (settings.SIMULATOR_ENABLED and settings.ALLOW_PRIVATE_BASE_URLS)
    )


def simulator_origin(site_origin: str) -> str | None:
    """Return where simulator keys point for a site served at `site_origin` (None: not offered)."""
    if settings.DEMO_MODE:
        return SIMULATOR_ORIGIN
    if offers_offline_demo():
        return site_origin.rstrip("/") + "/sim"
    return None


def is_in_process_simulator(url: str) -> bool:
    """Return whether `url` points at the in-process simulator's reserved origin."""
    reserved = urlsplit(SIMULATOR_ORIGIN)
    parts = urlsplit(url.strip())
    return (
        parts.scheme == reserved.scheme
        and parts.netloc == reserved.netloc
        and not parts.query
        and not parts.fragment
    )
