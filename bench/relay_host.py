"""The relay benchmark's host side: the processes it starts and what /proc says about them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(core: int, argv: list[str]) -> list[str]:
    """Return `argv` run on one CPU core (with taskset, when the system has it)."""
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(core), *argv] if taskset else argv


def site_command(server: str, port: int) -> list[str]:
    """Return the command that serves the site with one worker under `server`."""
    bin_dir = Path(sys.executable).parent
    if server == "granian":
        return [
            os.environ.get("GRANIAN") or str(bin_dir / "granian"),
            *("--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", "1", "--log-level", "warning", "--no-ws"),
            "playground.asgi:application",
        ]
    return [
        str(bin_dir / "uvicorn"),
        "playground.asgi:application",
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        *("--timeout-graceful-shutdown", "5"),
    ]


def under_callgrind(argv: list[str], directory: Path) -> list[str]:
    """Return `argv` run under callgrind, counting nothing until `Callgrind.start`."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={directory / 'site.%p.out'}",
        *argv,
    ]


class Callgrind:
    """Count the instructions a process under `under_callgrind` executes during a phase.

    Instruction counts do not depend on what else runs on the machine, unlike CPU time on a
    shared two-core host (whose other core's load slows this one).
    """

    def __init__(self, pid: int, directory: Path) -> None:
        self.pid, self.directory = pid, directory

    def _control(self, *options: str) -> None:
        subprocess.run(
            ["callgrind_control", *options, str(self.pid)],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )

    def start(self) -> None:
        self._control("--zero")
        self._control("--instr=on")

    def stop(self) -> int:
        """Stop counting; return the instructions counted since `start`."""
        before = set(self.directory.glob("site.*.out*"))
        self._control("--dump")  # first: a dump after --instr=off counts nothing
        self._control("--instr=off")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for path in set(self.directory.glob("site.*.out*")) - before:
                for line in path.read_text(errors="replace").splitlines():
                    if line.startswith(("summary:", "totals:")):
                        return int(line.split()[1])
            time.sleep(0.5)
        raise SystemExit("callgrind wrote no dump within 120 s.")


@contextmanager
def profiler(pid: int, output: Path | None) -> Iterator[None]:
    """Sample `pid` with py-spy into `output` (folded stacks, active threads only) meanwhile."""
    if output is None:
        yield
        return
    py_spy = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"
    argv = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(output)]
    argv += ["--rate", "250", "--nonblocking", "--threads", "--gil"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        proc.wait(timeout=60)


def production_env(database_url: str) -> dict[str, str]:
    """Return production-like settings for a benchmark on loopback (fresh secrets each time)."""
    from cryptography.fernet import Fernet

    return {
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SECURE_SSL_REDIRECT": "0",  # no TLS on loopback
        "ALLOW_PRIVATE_BASE_URLS": "1",  # the simulator is on loopback
        "SIMULATOR_ENABLED": "0",  # the upstream is the separate simulator process
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
    }


def site_env(args: argparse.Namespace, database_url: str) -> dict[str, str]:
    """Return the site's environment: production-like settings for a loopback benchmark."""
    return {
        **production_env(database_url),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MAX_CONCURRENT_RUNS_PER_USER": "1000",
        # Benchmarks prepare their runs ahead and stream them later: not "never opened".
        "RUN_UNOPENED_GRACE_SECONDS": "3600",
        "RUN_COALESCE_MS": str(args.coalesce_ms),
    }


def _wait_ready(url: str, proc: subprocess.Popen[bytes], what: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"The {what} exited with code {proc.returncode}.")
        try:
            if httpx.get(url, timeout=1).status_code in (200, 302):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"The {what} did not answer at {url} within {wait:g} s.")


@contextmanager
def process(
    argv: list[str], env: dict[str, str], ready: str, what: str, wait: float = 30.0
) -> Iterator[int]:
    """Start `argv`, wait until `ready` answers, yield its pid; stop it afterwards."""
    proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env})
    try:
        _wait_ready(ready, proc, what, wait)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tree(pid: int | str) -> list[str]:
    """Return `pid` and its live descendants (granian serves from a worker process)."""
    if pid == "self":
        return ["self"]
    found, todo = [], [str(pid)]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the task ended meanwhile
                todo += task.read_text().split()
    return found


def cpu_seconds(pid: int | str) -> float:
    """Return the user + system CPU time of process `pid` (all its threads) and its
    descendants, in seconds."""
    total = 0
    for each in _tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def core_busy() -> dict[int, tuple[int, int]]:
    """Return (busy, total) clock ticks per core since boot, from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name.startswith("cpu") and name != "cpu":
            values = [int(t) for t in ticks]
            out[int(name[3:])] = (sum(values) - values[3] - values[4], sum(values))
    return out


def rss_mib(pid: int) -> float:
    """Return the resident set size of process `pid` and its descendants in MiB."""
    total = 0
    for each in _tree(pid):
        try:
            lines = Path(f"/proc/{each}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))
    return total / 1024


class Sampler:
    """Samples a process's CPU time and RSS every `every` seconds while a phase runs."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[int, float, float]] = []  # (monotonic ns, cpu s, rss MiB)

    def sample(self) -> None:
        """Take one sample now."""
        self.samples.append((time.monotonic_ns(), cpu_seconds(self.pid), rss_mib(self.pid)))

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(self.every)


def wait_for_quiet(threshold: float, max_wait: float) -> float:
    """Wait until no core is busier than `threshold` % over a second; return the last reading."""
    deadline = time.monotonic() + max_wait
    while True:
        before = core_busy()
        time.sleep(1.0)
        after = core_busy()
        busiest = max(
            100 * (after[c][0] - before[c][0]) / max(1, after[c][1] - before[c][1]) for c in after
        )
        if busiest <= threshold or time.monotonic() > deadline:
            return busiest
        time.sleep(2.0)


def machine() -> dict[str, str]:
    """Return the CPU, kernel and versions the figures were measured with."""
    from importlib.metadata import version

    import django
    import uvicorn

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in subprocess.run(
                ["lscpu"], capture_output=True, text=True
            ).stdout.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor(),
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": f"{model}, {os.cpu_count()} cores, {mem_kib / 1024 / 1024:.0f} GiB RAM",
        "kernel": platform.release(),
        "versions": f"Python {platform.python_version()}, Django {django.__version__}, "
        f"uvicorn {uvicorn.__version__}, httpx {httpx.__version__} over httpx-aiohttp "
        f"{version('httpx-aiohttp')} (aiohttp {version('aiohttp')})",
    }
