"""The web process's start-up loads what first requests would, then freezes it out of the
garbage collector's walks."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.urls import get_resolver

from playground import http, loop_latency


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored")
def test_tuning_warms_up_then_freezes_the_heap() -> None:
    gc.unfreeze()
    http.ssl_context.cache_clear()
    assert gc.get_freeze_count() == 0

    loop_latency.tune_process()

    assert http.ssl_context.cache_info().currsize == 1  # the CA bundle is loaded
    assert get_resolver()._populated  # every app's URLconf and views are imported
    assert gc.get_freeze_count() > 1000  # at least the modules this process has imported
    assert gc.get_threshold() == loop_latency.GC_THRESHOLDS


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
    from playground import http
    print(sent[0], gc.get_freeze_count() > 1000, http.ssl_context.cache_info().currsize,
          gc.get_threshold()[0])

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["lifespan.startup.complete", "True", "1", "7000"]
