"""A provider simulator: a pure ASGI app (stdlib only) that fakes every prefix dialect over HTTP."""

from __future__ import annotations

from playground.simulator.app import SimulatorApp, create_app
from playground.simulator.exchange import RequestRecord

__all__ = ["RequestRecord", "SimulatorApp", "create_app"]
