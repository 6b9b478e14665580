"""A simulator on a loopback port for the run tests, and builders for runs and credentials."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from playground.accounts.models import User
from playground.http import aclose_client, connections_in_use
from playground.keys.models import Credential
from playground.providers import simulator_base_url
from playground.providers.prompt import Prompt
from playground.runs.models import Run
from playground.simulator import SimulatorApp, create_app
from tests.servers import serving

SIM_KEY = "sim-runs-test-key-0001"


@dataclass
class Sim:
    url: str
    app: SimulatorApp

    def base_url(self, provider: str) -> str:
        return simulator_base_url(provider, self.url)


@pytest.fixture
async def close_upstream() -> AsyncIterator[None]:
    """Close the test loop's upstream client at the end, so no socket outlives its loop."""
    yield
    await aclose_client()


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    """A simulator fast enough for tests, slow enough that a stream has a middle."""
    app = create_app(tokens_per_second=400, first_token_delay=0.02, keepalive_interval=0.2)
    with serving(app, name="runs-simulator") as url:
        yield Sim(url, app)


def make_sim_credential(user: User, sim: Sim, provider: str = "deepseek", **kw: Any) -> Credential:
    """Return a credential of `user` pointing at the test simulator."""
    key = kw.pop("key", SIM_KEY)
    kw.setdefault("label", f"{provider} sim")
    credential = Credential(user=user, provider=provider, base_url=sim.base_url(provider), **kw)
    credential.set_key(key)
    credential.save()
    return credential


def start_run(
    user: User,
    targets: list[tuple[Credential, str]],
    prefix: str = "```python\n",
    **prompt: Any,
) -> Run:
    """Return a new run of `user` with one column per (credential, model)."""
    fields = {
        "system": "",
        "turns": [{"role": "user", "content": "Write a quick sort.", "images": []}],
        "prefix": prefix,
        "reasoning_prefix": "",
        "suffix": "",
        "stop": [],
        "parameters": {},
        **prompt,
    }
    return Run.objects.start(
        user=user,
        prompt=Prompt.from_json(fields),
        targets=[{"credential": c, "model": m, "overrides": {}} for c, m in targets],
    )


async def pool_in_use_once_settled(client: Any) -> int:
    """Return the connections `client` still has checked out once closes in flight are done.

    A hang guard of about 5 s, not a timing: a close already on its way gets its turn.
    """
    for _ in range(100):
        if connections_in_use(client) == 0:
            return 0
        await asyncio.sleep(0.05)
    return connections_in_use(client)


# Runs shared with a team, for the sharing, pin and win-table tests (tests/runs/team_runs.py).
from tests.runs.team_runs import shared, team_template  # noqa: E402, F401  (fixtures, by name)
