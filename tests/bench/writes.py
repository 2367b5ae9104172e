"""Concurrent writers against a real server: 32 clients writing for 60 s (BENCH_WRITE_SECONDS), on
SQLite (one process, the embedded default) and on PostgreSQL (`--workers 2`).

Each client is a logged-in person: half are streets submitting agenda items (an insert, its
requested units and the audit event), half are a unit reporting progress on one of its tasks (a
locked task row, a report and the audit event). Every response is timed from the client side.
Reported per database: writes per second, p50, p99 and max latency, and errors (any status other
than the 303 a successful form post answers). The baseline, measured in the same run against the
same server, is 32 clients reading /healthz: it shows what the machine and HTTP stack cost alone.

Goal (issue 9) on SQLite: 0 errors, p99 under 2 s, max under 5 s."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from tests import dbsetup
from tests.browser import HOST, LiveServer, _server_env, conference_command, free_port, stop_server, wait_until_healthy

WRITERS = 32
SECONDS = float(os.environ.get("BENCH_WRITE_SECONDS", "60"))
BASELINE_SECONDS = max(5.0, SECONDS / 6)
UNIT = "兰山区市场监管局"  # the demo account "unit"


def _prepare(database_url: str) -> None:
    env = _server_env(database_url, "http://bench")
    for command in (["migrate"], ["demo"]):
        subprocess.run([conference_command(), *command], env=env, check=True, capture_output=True)


def _serve(database_url: str, workers: int, directory: Path) -> LiveServer:
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = _server_env(database_url, url)
    env.update({"REMINDER_INTERVAL": "0", "MAIL_INTERVAL": "0"})
    log_path = directory / f"server-{workers}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([conference_command(), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(url=url, database_url=database_url, log_path=log_path, process=process)
    wait_until_healthy(server)
    return server


async def _login(url: str, username: str) -> httpx.AsyncClient:
    from conference.demo import DEMO_PASSWORD

    client = httpx.AsyncClient(base_url=url, timeout=600, trust_env=False)  # a 60,000-row export (tests.bench.heavy) takes a while
    await client.get("/login")
    response = await client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                                 "_csrf_token": client.cookies.get("csrftoken", "")})
    assert response.status_code == 303, response.text
    return client


async def _working_tasks(unit: httpx.AsyncClient) -> list[int]:
    """Ids of the unit's tasks it can report on, read off its task list page."""
    import re

    page = await unit.get("/tasks", params={"per_page": 100})
    ids = sorted({int(m) for m in re.findall(r'href="/tasks/(\d+)"', page.text)})
    working = []
    for task_id in ids:
        detail = await unit.get(f"/tasks/{task_id}")
        if f'action="/tasks/{task_id}/progress"' in detail.text:
            working.append(task_id)
    return working


async def _run(clients: list[tuple[httpx.AsyncClient, str, dict[str, str]]], seconds: float) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    end = time.perf_counter() + seconds

    async def loop(client: httpx.AsyncClient, path: str, form: dict[str, str]) -> None:
        n = 0
        while time.perf_counter() < end:
            n += 1
            start = time.perf_counter()
            try:
                if form:
                    data = {k: v.replace("{n}", str(n)) for k, v in form.items()}
                    response = await client.post(path, data={**data, "_csrf_token": client.cookies.get("csrftoken", "")})
                else:
                    response = await client.get(path)
                statuses[response.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(loop(c, p, f) for c, p, f in clients))
    return latencies, statuses


def _line(name: str, seconds: float, latencies: list[float], statuses: Counter[int], ok: int) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    errors = sum(n for s, n in statuses.items() if s != ok)
    return (f"{name:<30}{len(latencies) / seconds:>9.1f}{statistics.median(ordered) * 1000 if ordered else 0:>9.0f}"
            f"{p99 * 1000:>9.0f}{(ordered[-1] if ordered else 0) * 1000:>9.0f}{errors:>8}  {dict(statuses)}")


async def _measure(label: str, database_url: str, workers: int, directory: Path) -> list[str]:
    _prepare(database_url)
    server = _serve(database_url, workers, directory)
    try:
        streets = [await _login(server.url, "street") for _ in range(WRITERS // 2)]
        units = [await _login(server.url, "unit") for _ in range(WRITERS - WRITERS // 2)]
        tasks = await _working_tasks(units[0])
        assert tasks, "the demo has no task the unit can report on"
        item = {"title": "压测议题{n}", "description": "背街小巷路灯长期损坏，夜间通行不便。", "category": "urban_management",
                "urgency": "normal", "submit": "1"}
        writers = [(c, "/items/new", item) for c in streets]
        writers += [(c, f"/tasks/{tasks[i % len(tasks)]}/progress", {"text": "第{n}次进展：已完成现场勘查。"}) for i, c in enumerate(units)]
        readers = [(c, "/healthz", {}) for c in streets + units]
        base_lat, base_status = await _run(readers, BASELINE_SECONDS)
        lat, status = await _run(writers, SECONDS)
        for client, _path, _form in writers:
            await client.aclose()
        where = f"{label} ({workers} worker{'s' if workers > 1 else ''})"
        return [_line(f"{where} /healthz", BASELINE_SECONDS, base_lat, base_status, 200),
                _line(f"{where} writes", SECONDS, lat, status, 303)]
    finally:
        stop_server(server)


async def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="conference-bench-writes-"))
    lines = await _measure("SQLite", f"sqlite:///{directory / 'writes.sqlite3'}", 1, directory)
    reason = await dbsetup.postgres_available()
    if reason:
        lines.append(f"PostgreSQL skipped: {reason}")
    else:
        url = await dbsetup.fresh_postgres_schema(f"bench_writes_{os.getpid()}")
        try:
            lines += await _measure("PostgreSQL", url, 2, directory)
        finally:
            await dbsetup.drop_postgres_schema(url)
    print(f"\n== {WRITERS} concurrent clients, {SECONDS:.0f} s of writes (baseline: /healthz for {BASELINE_SECONDS:.0f} s)")
    print(f"{'':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}  statuses")
    for line in lines:
        print(line)
