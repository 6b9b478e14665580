"""A 1,000-cell batch (500 rows x 2 targets) on the simulator: wall time, worker CPU and memory.

    .venv/bin/python bench/batch.py [--rows 500] [--database sqlite|postgres]

Uses its own database (a fresh SQLite file, or PostgreSQL database `bench_batch`), a simulator
on a loopback port, and the real worker (`manage.py batch_worker`) as a child process group.
Wall time runs from the batch being queued to its last cell saved. CPU is the user + system
time of every process of the worker's group (the cluster and its forked processes), read from
/proc just before it is stopped; memory is the peak of their summed RSS, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def cpu_and_rss(pids: list[int]) -> tuple[float, int]:
    cpu, rss = 0.0, 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICK
        rss += int(fields[21]) * PAGE
    return cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    if args.database == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench-batch.sqlite3"
    else:
        url = "postgres://postgres@127.0.0.1:5432/bench_batch"
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-c",
                "DROP DATABASE IF EXISTS bench_batch",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", "CREATE DATABASE bench_batch"],
            check=True,
            capture_output=True,
        )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "ALLOW_PRIVATE_BASE_URLS": "1",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from playground.accounts.models import User
    from playground.batches.models import Batch, CellStatus, InputSet, start_batch
    from playground.batches.tasks import enqueue
    from playground.keys.models import Credential
    from playground.prompts.models import PrefixTemplate
    from playground.providers import simulator_base_url
    from playground.simulator import create_app
    from tests.servers import serving

    app = create_app(tokens_per_second=400, first_token_delay=0.05, max_records=10)
    with serving(app, name="bench-sim") as sim_url:
        user = User.objects.create(username=f"bench{time.time_ns()}")
        template = PrefixTemplate(
            owner=user,
            name="Bench",
            prefix="Once, {{seed}}",
            max_tokens=40,
            turns=[{"role": "user", "content": "A story about {{seed}}", "images": []}],
        )
        template.save(author=user)
        rows = [[f"seed {i}"] for i in range(args.rows)]
        input_set = InputSet(template=template, name="Bench", columns=["seed"], rows=rows)
        input_set.save(author=user)
        targets = []
        for n, provider in enumerate(["deepseek", "mistral"]):
            credential = Credential(
                user=user,
                provider=provider,
                label=f"sim {n}",
                base_url=simulator_base_url(provider, sim_url),
            )
            credential.set_key(f"sim-bench-{n}-0000000")
            credential.save()
            model = "deepseek-chat" if provider == "deepseek" else "mistral-small-latest"
            targets.append({"credential": credential, "model": model})
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "batch_worker"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(3)  # the cluster starts; not part of the batch's wall time
        batch = start_batch(
            user=user,
            template=template,
            input_set=input_set,
            targets=targets,
            checks=[{"kind": "contains", "value": "the"}],
        )
        started = time.monotonic()
        enqueue(batch.pk)
        peak, cpu_before = 0, cpu_and_rss(group_pids(worker.pid))[0]
        while Batch.objects.get(pk=batch.pk).status == "running":
            peak = max(peak, cpu_and_rss(group_pids(worker.pid))[1])
            time.sleep(0.2)
        wall = time.monotonic() - started
        cpu = cpu_and_rss(group_pids(worker.pid))[0] - cpu_before
        done = batch.cells.filter(status=CellStatus.DONE).count()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    cells = len(rows) * len(targets)
    print(f"cells {cells}, done {done}, database {args.database}")
    print(f"wall {wall:.1f} s ({cells / wall:.1f} cells/s)")
    print(f"worker CPU {cpu:.1f} s ({cpu / cells * 1000:.1f} ms per cell)")
    print(f"worker peak RSS {peak / 1_048_576:.0f} MB (all processes of the cluster)")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
