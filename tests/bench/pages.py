"""The list pages people open most, logged in as the office on the demo data, against a bare page
that runs the same SQL and renders the same rows; and the fixed cost of a request (auth, session,
scope) on its own.

Each bare page runs, on one plain sqlite3 connection and with no ORM, auth or middleware, every
read statement the app ran for that page (captured from the engine, with its parameters) except the
session look-up, and renders every row of every result with Jinja. The app is measured twice: with
the engine in use (kept read connections) and with Piccolo's own SQLiteEngine (a new connection
per statement), which is what the app ran before, each against the bare page in turns of its own.
Both clients send the same request (the same cookies). A page's ratio is the median, over the
rounds, of the bare page's rate over the app's in the same round (round_ratio)."""

from __future__ import annotations

import logging
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from jinja2 import Environment
from litestar import Litestar, MediaType, Request, Response, get

from tests.bench.common import client, fresh_database, login, report

PAGES = ["/tasks", "/items", "/audit", "/registry/units", "/"]
GOAL_RATIO = 2.0
GOAL_FIXED_MS = 0.5

BARE_TEMPLATE = Environment(autoescape=True).from_string(
    "<html><body>{% for rows in results %}<table>{% for row in rows %}<tr>{% for value in row.values() %}"
    "<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</table>{% endfor %}</body></html>")


def bare_app(path: Path, statements: dict[str, list[tuple[str, tuple[Any, ...]]]]) -> Litestar:
    conn = sqlite3.connect(path, check_same_thread=False, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
    conn.row_factory = sqlite3.Row

    def page(name: str, todo: list[tuple[str, tuple[Any, ...]]]) -> Any:
        @get(f"/bare{name}", media_type=MediaType.HTML, name=f"bare{name}")
        async def handler() -> Response[str]:
            results = [[dict(row) for row in conn.execute(sql, args)] for sql, args in todo]
            return Response(BARE_TEMPLATE.render(results=results), media_type=MediaType.HTML)
        return handler

    @get("/bare-ping", media_type=MediaType.TEXT)
    async def ping() -> str:
        return "ok"

    return Litestar([ping, *(page(name, todo) for name, todo in statements.items())])


Turn = tuple[Callable[[], Any] | None, Callable[[], Awaitable[Any]]]


async def paired_rounds(*turns: Turn, seconds: float = 6.0, rounds: int = 12) -> list[list[float]]:
    """Requests per CPU second of this process (its threads included) for each call, in each of
    `rounds` rounds of alternating short turns, each turn after its setup. On a shared machine
    other processes take the CPU by turns: wall-clock rates then measure the neighbours, CPU time
    the work a request costs; alternating gives each contender the same cache and frequency."""
    for setup, call in turns:
        if setup:
            setup()
        for _ in range(5):
            await call()
    results: list[list[float]] = [[] for _ in turns]
    for _ in range(rounds):
        for (setup, call), found in zip(turns, results, strict=True):
            if setup:
                setup()
            count, start, cpu = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - start < seconds / rounds / len(turns):
                await call()
                count += 1
            found.append(count / max(time.process_time() - cpu, 1e-6))
    return results


async def paired(*turns: Turn, seconds: float = 6.0, rounds: int = 12) -> list[float]:
    """The median rate of each call over the rounds of paired_rounds."""
    return [statistics.median(found) for found in await paired_rounds(*turns, seconds=seconds, rounds=rounds)]


def round_ratio(app: list[float], bare: list[float]) -> float:
    """How many times the app's cost is the bare page's: the median over the rounds of the ratio
    within each round. The two turns of a round are next to each other in time, so a slow spell
    of the shared machine slows both and cancels out of their ratio, where it would move the
    ratio of the two medians."""
    return statistics.median(b / a for a, b in zip(app, bare, strict=True))


async def capture(http: Any, url: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The read statements one request for `url` runs (all of them pass the engine's `read`)."""
    from conference.db import ReadReusingSQLiteEngine

    seen: list[tuple[str, tuple[Any, ...]]] = []
    original = ReadReusingSQLiteEngine.read

    async def recording(self: Any, sql: str, args: Any) -> Any:
        seen.append((sql, tuple(args)))
        return await original(self, sql, args)

    ReadReusingSQLiteEngine.read = recording  # type: ignore[method-assign]
    try:
        response = await http.get(url)
    finally:
        ReadReusingSQLiteEngine.read = original  # type: ignore[method-assign]
    assert response.status_code == 200, (url, response.status_code)
    return [(sql, args) for sql, args in seen if "web_session" not in sql]


async def fixed_cost_direct(app: Litestar, cookie: str, rounds: int = 2000) -> float:
    """CPU milliseconds of the per-request work before any page work, called directly: the auth
    middleware's actor (session look-up), the app's before_request, the guard."""
    from conference.app import before_request
    from conference.web.auth import AuthMiddleware, access_guard

    auth = next(m for m in app.middleware if isinstance(m, AuthMiddleware))

    scope: Any = {"type": "http", "path": "/bench/ping", "raw_path": b"/bench/ping", "method": "GET",
                             "headers": [(b"cookie", f"sid={cookie}".encode())], "query_string": b""}

    class Connection:
        def __init__(self, scope: dict[str, Any]) -> None:
            self.scope = scope

    class Handler:
        opt: ClassVar[dict[str, Any]] = {"roles": ("office",)}

    class Url:
        path = "/bench/ping"

    class Request:
        path_params: ClassVar[dict[str, Any]] = {}
        method = "GET"
        url = Url

    for _ in range(50):
        scope["user"] = await auth.resolve(scope)
    assert scope["user"] is not None and scope["user"].role == "office"
    start = time.thread_time()  # CPU time of this thread (the session read runs inline, on it)
    for _ in range(rounds):
        scope["user"] = await auth.resolve(scope)
        await before_request(Request())  # type: ignore[arg-type]
        await access_guard(Connection(scope), Handler())  # type: ignore[arg-type]
    return (time.thread_time() - start) * 1000 / rounds


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    path = await fresh_database()
    from piccolo.engine.sqlite import SQLiteEngine

    from conference import db
    from conference.app import create_app, settle_memory
    from conference.web.auth import actor_of

    @get("/bench/ping", opt={"roles": ("admin", "office", "convenor", "street", "unit")}, media_type=MediaType.TEXT)
    async def bench_ping(request: Request[Any, Any, Any]) -> str:
        return actor_of(request).role

    await db.start()
    app = create_app()
    settle_memory()  # what the server's lifespan does after db.start (the bench runs no lifespan)
    app.register(bench_ping)
    http = client(app)
    await login(http, "office")
    statements = {url: await capture(http, url) for url in PAGES}
    bare = client(bare_app(path, statements))
    # The same request to both: the bare client carries the session and CSRF cookies too (the
    # client's cookie handling, ~80 µs a request, was counted against the app alone).
    bare.cookies = http.cookies

    def call(c: Any, url: str) -> Any:
        async def once() -> None:
            assert (await c.get(url)).status_code == 200
        return once

    kept = db.engine()
    plain = SQLiteEngine(path=str(path), timeout=30)

    def on(engine: Any, inner: Callable[[], Awaitable[Any]]) -> Turn:
        # The kept engine keeps its read connections between its turns, as in a server (closed,
        # each turn would open, and parse the schema, again: ~3 ms a turn, counted to the app).
        return (lambda: db.use_engine(engine, close_previous=False)), inner

    async def versus_bare(engine: Any, app_url: str, bare_url: str) -> tuple[float, float, float]:
        """The app on `engine` and the bare page, each pair of turns alone (a third contender
        between them would leave its caches and garbage to the next): (app rate, bare rate, ratio)."""
        app_rounds, bare_rounds = await paired_rounds(on(engine, call(http, app_url)), (None, call(bare, bare_url)))
        return statistics.median(app_rounds), statistics.median(bare_rounds), round_ratio(app_rounds, bare_rounds)

    targets = [(url, "/bare" + url) for url in PAGES] + [("/bench/ping", "/bare-ping")]
    names = []
    for url, _bare_url in targets[:-1]:
        with sqlite3.connect(path) as conn:
            rows = sum(len(conn.execute(sql, args).fetchall()) for sql, args in statements[url])
        names.append(f"{url} ({len(statements[url])} q, {rows} rows)")
    names.append("trivial authenticated page")
    now = [await versus_bare(kept, url, bare_url) for url, bare_url in targets]
    before = [await versus_bare(plain, url, bare_url) for url, bare_url in targets]
    db.use_engine(kept)

    report("pages: demo data, logged in as the office, SQLite (requests per CPU second)",
           [(name, *found) for name, found in zip(names, now, strict=True)])
    print(f"{'':<34}{'Piccolo engine':>14}{'ratio':>8}   (the app with a new connection per statement)")
    for name, (before_rps, _bare_rps, ratio) in zip(names, before, strict=True):
        print(f"{name:<34}{before_rps:>14.1f}{ratio:>7.2f}x")
    for name, (_app_rps, _bare_rps, ratio) in zip(names[:-1], now[:-1], strict=True):
        if ratio > GOAL_RATIO:
            print(f"  over the goal ({GOAL_RATIO}x): {name}")
    ping, ping_before = now[-1], before[-1]
    fixed = 1000 / ping[0] - 1000 / ping[1]
    fixed_before = 1000 / ping_before[0] - 1000 / ping_before[1]
    cookie = http.cookies.get("sid") or ""
    direct = await fixed_cost_direct(app, cookie)
    print(f"fixed cost per request: {fixed:.2f} CPU ms (trivial authenticated page minus bare page; "
          f"{fixed_before:.2f} ms on Piccolo's engine), "
          f"{direct:.2f} ms (session look-up, before_request and guard called directly); goal {GOAL_FIXED_MS} ms")
    await http.aclose()
    await bare.aclose()
    await db.stop()
