"""Shared benchmark helpers: a fresh migrated SQLite database with the demo data, an in-process
HTTP client, and a timer that reports requests per second."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx


async def fresh_database() -> Path:
    path = Path(tempfile.mkdtemp(prefix="conference-bench-")) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("PICCOLO_CONF", "conference.piccolo_conf")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    from conference import db
    from conference.settings import reset_settings

    db.configure(reset_settings())
    from conference.cli import migrate_forwards
    from conference.demo import load_demo

    await migrate_forwards()
    await load_demo()
    return path


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")


async def login(http: httpx.AsyncClient, username: str) -> None:
    from conference.demo import DEMO_PASSWORD

    await http.get("/login")
    response = await http.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                               "_csrf_token": http.cookies.get("csrftoken", "")})
    assert response.status_code == 303, response.text


async def throughput(call: Callable[[], Awaitable[Any]], seconds: float = 3.0, rounds: int = 3) -> float:
    """Median requests per second over `rounds` runs of about `seconds` each, after a warm-up."""
    for _ in range(5):
        await call()
    results = []
    for _ in range(rounds):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / rounds:
            await call()
            count += 1
        results.append(count / (time.perf_counter() - start))
    return statistics.median(results)


def report(title: str, rows: list[tuple[str, float, float]] | list[tuple[str, float, float, float]]) -> None:
    """Rows of (name, app rate, bare rate[, ratio]): the ratio is bare/app unless given (pages.round_ratio)."""
    print(f"\n== {title}")
    print(f"{'page':<34}{'app req/s':>12}{'bare req/s':>12}{'ratio':>8}")
    for name, app_rps, bare_rps, *given in rows:
        ratio = given[0] if given else bare_rps / app_rps
        print(f"{name:<34}{app_rps:>12.1f}{bare_rps:>12.1f}{ratio:>7.2f}x")
