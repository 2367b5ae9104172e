"""Full-text search over 50,000 agenda items (issue 16: a search under 50 ms), on SQLite.

The items are loaded straight through sqlite3, so the search triggers index them as any write
would. Measured, as milliseconds per request (median of throughput runs):

- /search for a four-character phrase (行人坠落: the FTS5 trigram index), a two-character one
  (坠落: the character-pair index), one page of one kind and two terms, for the admin (every
  record) and for a street (its own items only), through HTTP (app ms) and the search service
  alone (query ms: the SQL and the highlighting, without HTTP, session and template);
- the baseline, in the same run: a bare Litestar page that runs the naive query (LIKE over the
  items' title and description, 20 rows and a count) with plain sqlite3 and renders the rows with
  Jinja: what a search costs without the index, the scope rules and the app around it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from jinja2 import Environment
from litestar import Litestar, MediaType, Response, get

from tests.bench.common import client, fresh_database, login, throughput

ITEMS = 50_000
GOAL_MS = 50.0
PLACES = ["人民路", "解放路", "通达路", "沂蒙路", "金雀山路", "兰山路", "涑河街", "银雀山路", "北京路", "上海路"]
PROBLEMS = ["窨井盖缺失，夜间有行人坠落风险", "沿街商铺占道经营", "老旧小区雨污管网混接", "路灯损坏多处", "违章搭建影响消防通道",
            "垃圾清运不及时", "共享单车乱停放", "建筑工地夜间施工扰民", "河道漂浮物较多", "背街小巷路面破损",
            "高空坠物隐患", "菜市场周边交通拥堵", "餐饮油烟扰民", "小区充电桩不足", "学校门口接送秩序混乱"]
ASKS = ["请区综合行政执法局牵头整治", "请区市场监管局协调解决", "请区住建局安排维修", "请公安分局加强巡查",
        "请区生态环境分局督促整改", "需要多部门联合执法", "街道已多次劝导，效果不明显"]


def populate(path: Path) -> None:
    """50,000 items with varied Chinese text; about one in fifteen mentions 坠落."""
    rnd = random.Random(16)
    conn = sqlite3.connect(path)
    conferences = {r[1]: r[0] for r in conn.execute("SELECT id, street FROM conference WHERE street IS NOT NULL")}
    streets = list(conferences)
    start = dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.UTC)
    rows = []
    for i in range(ITEMS):
        street = rnd.choice(streets)
        place, problem = rnd.choice(PLACES), rnd.choice(PROBLEMS)
        description = "，".join([f"{place}{rnd.randint(1, 300)}号附近{problem}", rnd.choice(ASKS),
                                 f"群众反映{rnd.randint(2, 40)}次"]) + "。"
        at = str(start + dt.timedelta(minutes=17 * i))
        rows.append((conferences[street], street, f"{place}{problem[:6]}（{i}）", description, "other", "normal",
                     rnd.choice(["submitted", "accepted", "resolved"]), "", None, 0, 0, at, at))
    conn.executemany(
        "INSERT INTO agenda_item (conference, street, title, description, category, urgency, status, return_reason,"
        " meeting, position, meetings_waited, submitted_at, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?)",
        rows)
    conn.commit()
    conn.close()


BARE_TEMPLATE = Environment(autoescape=True).from_string(
    "<ol>{% for r in rows %}<li><a href='/items/{{ r.id }}'>{{ r.title }}</a><p>{{ r.description[:90] }}</p></li>"
    "{% endfor %}</ol><p>{{ total }}</p>")
BARE_SQL = ("SELECT id, title, description FROM agenda_item WHERE title LIKE ? OR description LIKE ? "
            "ORDER BY id DESC LIMIT 20")
BARE_COUNT = "SELECT COUNT(*) FROM agenda_item WHERE title LIKE ? OR description LIKE ?"


def bare_app(path: Path) -> Litestar:
    """The baseline: one connection, a LIKE scan of the items, the rows rendered, no index, no auth."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row

    @get("/bare/search", media_type=MediaType.HTML)
    async def bare_search(q: str) -> Response[str]:
        like = f"%{q}%"
        rows = [dict(r) for r in conn.execute(BARE_SQL, (like, like))]
        total = conn.execute(BARE_COUNT, (like, like)).fetchone()[0]
        return Response(BARE_TEMPLATE.render(rows=rows, total=total), media_type=MediaType.HTML)

    return Litestar([bare_search])


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    path = await fresh_database()
    started = time.perf_counter()
    populate(path)
    load_seconds = time.perf_counter() - started
    from conference import db
    from conference.app import create_app

    await db.start()
    app = create_app()
    clients = {}
    for username in ("admin", "street"):
        clients[username] = client(app)
        await login(clients[username], username)
    bare = client(bare_app(path))
    with sqlite3.connect(path) as conn:
        documents = conn.execute("SELECT COUNT(*) FROM search_document").fetchone()[0]
        matches = {q: conn.execute("SELECT COUNT(*) FROM agenda_item WHERE description LIKE ?", (f"%{q}%",)).fetchone()[0]
                   for q in ("行人坠落", "坠落")}

    def page(username: str, params: dict[str, str]) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            response = await clients[username].get("/search", params=params)
            assert response.status_code == 200 and "search-hit" in response.text, response.text[:300]
        return call

    def bare_page(q: str) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            assert (await bare.get("/bare/search", params={"q": q})).status_code == 200
        return call

    from conference.search import services
    from tests.factories import actor

    actors = {username: await actor(username) for username in clients}

    def direct(username: str, params: dict[str, str]) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            results = await services.search(actors[username], params["q"], params.get("kind", ""),
                                            int(params.get("page", "1")))
            assert results.groups
        return call

    cases = [
        ("admin", {"q": "行人坠落"}, "admin  行人坠落 (4 chars, trigram)", "行人坠落"),
        ("admin", {"q": "坠落"}, "admin  坠落 (2 chars, pairs)", "坠落"),
        ("admin", {"q": "坠落", "kind": "item", "page": "2"}, "admin  坠落 议题 page 2", "坠落"),
        ("street", {"q": "行人坠落"}, "street 行人坠落 (its own items)", "行人坠落"),
        ("street", {"q": "坠落"}, "street 坠落", "坠落"),
        ("admin", {"q": "人民路 窨井"}, "admin  人民路 窨井 (two terms)", "窨井"),
    ]
    print(f"\n== search: {ITEMS:,} agenda items ({documents:,} search documents, loaded with their index in "
          f"{load_seconds:.1f} s), SQLite; matching items: 行人坠落 {matches['行人坠落']:,}, 坠落 {matches['坠落']:,}")
    print(f"{'search':<38}{'app ms':>9}{'query ms':>10}{'bare LIKE ms':>14}{'goal':>8}")
    for username, params, name, bare_q in cases:
        app_ms = 1000 / await throughput(page(username, params))
        query_ms = 1000 / await throughput(direct(username, params))
        bare_ms = 1000 / await throughput(bare_page(bare_q))
        verdict = "ok" if app_ms < GOAL_MS else "SLOW"
        print(f"{name:<38}{app_ms:>9.1f}{query_ms:>10.1f}{bare_ms:>14.1f}{verdict:>8}")
    for http in (*clients.values(), bare):
        await http.aclose()
    await db.stop()
