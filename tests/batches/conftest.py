"""A simulator on a loopback port, a real batch worker process, and builders for batches.

The worker is `manage.py batch_worker` (django-q2's cluster) in its own process group, against
the test database (PostgreSQL, or SQLite's file), with the test process's SECRET_KEY and
ENCRYPTION_KEYS, so credentials made here decrypt there (tests/production_site.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from playground.accounts.models import User
from playground.batches.models import Batch, BatchStatus, Cell, CellStatus, InputSet, start_batch
from playground.keys.models import Credential
from playground.prompts.models import PrefixTemplate
from playground.providers import simulator_base_url
from playground.simulator import SimulatorApp, create_app
from tests.production_site import ROOT, site_env
from tests.prompts.factories import make_template
from tests.servers import serving
from tests.waiting import wait_until

SIM_KEY = "sim-batch-test-key-000000001"
WORKER_ENV = {
    "BATCH_LEASE_SECONDS": "3",
    "RUN_LEASE_SECONDS": "3",
    "BATCH_BACKOFF_BASE_MS": "200",
    "BATCH_SLICE_SECONDS": "20",
    "BATCH_CONCURRENCY_PER_USER": "6",
    "BATCH_CONCURRENCY_PER_KEY": "3",
    "BATCH_WORKERS": "2",
}


@dataclass
class Sim:
    url: str
    app: SimulatorApp

    def base_url(self, provider: str) -> str:
        return simulator_base_url(provider, self.url)

    def requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_sim/requests", timeout=30).json())

    def clear(self) -> None:
        httpx.delete(f"{self.url}/_sim/requests", timeout=30)


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    app = create_app(
        tokens_per_second=2000, first_token_delay=0.01, keepalive_interval=0.2, max_records=20_000
    )
    with serving(app, name="batch-simulator") as url:
        yield Sim(url, app)


@dataclass
class Worker:
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    def start(self) -> None:
        argv = [sys.executable, "manage.py", "batch_worker"]
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=None,
        )

    def kill(self) -> None:
        """SIGKILL the whole worker (the cluster and its forked processes), as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Forked workers left behind by a killed parent (same process group).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


@pytest.fixture
def worker_env(transactional_db: None) -> dict[str, str]:
    return site_env(**WORKER_ENV)


@pytest.fixture
def worker(worker_env: dict[str, str]) -> Iterator[Worker]:
    handle = Worker(worker_env)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


def make_credential(
    user: User, sim: Sim, provider: str = "deepseek", label: str = ""
) -> Credential:
    credential = Credential(
        user=user,
        provider=provider,
        label=label or f"{provider} sim",
        base_url=sim.base_url(provider),
    )
    credential.set_key(SIM_KEY)
    credential.save()
    return credential


def story_template(owner: User, **kwargs: Any) -> PrefixTemplate:
    kwargs.setdefault("name", "Story opener")
    kwargs.setdefault("prefix", "Once upon a time, {{seed}}")
    kwargs.setdefault(
        "turns", [{"role": "user", "content": "Tell a story about {{seed}}.", "images": []}]
    )
    kwargs.setdefault("stop", [])
    kwargs.setdefault("max_tokens", 12)
    return make_template(owner, **kwargs)


def make_input_set(template: PrefixTemplate, rows: int, name: str = "Seeds") -> InputSet:
    input_set = InputSet(
        template=template,
        name=name,
        columns=["seed"],
        rows=[[f"seed number {i:04d}"] for i in range(rows)],
        created_by=template.owner,
    )
    input_set.save(author=template.owner)
    return input_set


def launch(
    user: User,
    template: PrefixTemplate,
    input_set: InputSet,
    targets: list[tuple[Credential, str]],
    checks: list[dict[str, str]] | None = None,
) -> Batch:
    """Start a batch and queue it, as the Start button does."""
    from playground.batches.tasks import enqueue

    batch = start_batch(
        user=user,
        template=template,
        input_set=input_set,
        targets=[{"credential": c, "model": m} for c, m in targets],
        checks=checks or [],
    )
    enqueue(batch.pk)
    return batch


def wait_finished(batch: Batch, guard: float = 240) -> Batch:
    def done() -> bool:
        batch.refresh_from_db()
        return batch.status in (BatchStatus.DONE, BatchStatus.CANCELLED)

    wait_until(done, f"batch {batch.code} to finish", guard=guard)
    return batch


def final_cells(batch: Batch) -> list[Cell]:
    return list(Cell.objects.filter(batch=batch).select_related("target", "segment"))


def requests_by_cell(sim: Sim) -> dict[tuple[str, str], int]:
    """Count simulator requests per (model, seed): each identifies one cell."""
    counts: dict[tuple[str, str], int] = {}
    for record in sim.requests():
        body = record.get("body") or {}
        messages = body.get("messages") or []
        text = " ".join(str(m.get("content", "")) for m in messages)
        marker = text.split("seed number ", 1)
        if len(marker) < 2:
            continue
        key = (str(record.get("model")), marker[1][:4])
        counts[key] = counts.get(key, 0) + 1
    return counts


__all__ = ["CellStatus"]
