"""The loopback simulator of the run tests, for the team-credential tests that stream runs."""

from __future__ import annotations

from tests.runs.conftest import close_upstream, sim  # noqa: F401  (fixtures, by name)
