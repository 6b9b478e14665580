"""The web process's start-up freezes what it loaded out of the garbage collector's walks."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from playground import loop_latency


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("restored")
def test_tuning_freezes_the_heap() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    loop_latency.tune_process()

    assert gc.get_freeze_count() > 1000  # at least the modules this process has imported


def test_the_asgi_lifespan_start_up_tunes_the_process() -> None:
    # In a process of its own, as uvicorn runs it: the lifespan's start-up, then its state.
    script = """
import asyncio, gc, sys
from unittest import mock
from playground import asgi

async def main():
    messages = iter([{"type": "lifespan.startup"}])
    sent = []
    async def receive():
        try:
            return next(messages)
        except StopIteration:
            await asyncio.sleep(3600)
    async def send(message):
        sent.append(message["type"])
    with mock.patch.object(asgi.background, "ensure_running"), mock.patch.object(
        asgi.background, "install_signal_handlers"
    ):
        task = asyncio.ensure_future(asgi.application({"type": "lifespan"}, receive, send))
        while not sent:
            await asyncio.sleep(0.01)
        task.cancel()
    print(sent[0], gc.get_freeze_count() > 1000)

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["lifespan.startup.complete", "True"]
