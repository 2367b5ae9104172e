"""Shared fixtures: the migrated database with the demo data, built once per session as a template;
per test module a copy of its own (`database_url`) and an app on it; logged-in HTTP clients per demo
account (httpx against the ASGI app, on the session's event loop). `--reverse` runs the modules, and
the tests within each module, in reverse order."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup

from tests import dbsetup

os.environ.setdefault("PICCOLO_CONF", "conference.piccolo_conf")
os.environ.setdefault("SECRET_KEY", "test-secret-key-0123456789abcdef")
os.environ.setdefault("REMINDER_INTERVAL", "0")
os.environ.setdefault("ARGON2_CHEAPEST_FOR_TESTS", "1")  # a cheap hash cost, in tests only

from conference.demo import DEMO_PASSWORD
from conference.integrations.events import listen as _listen_for_integration_events

_listen_for_integration_events()  # as the app factory and the CLI do: services called directly emit events too

BASE = "http://testserver"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reverse", action="store_true",
                     help="run the test modules, and the tests within each module, in reverse order")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --reverse, the last module first and its last test first: a test that passes only after
    what an earlier one left behind fails (CI runs the PostgreSQL suite this way)."""
    if not config.getoption("--reverse"):
        return
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    items[:] = [item for group in reversed(modules.values()) for item in reversed(group)]


def _detach_engine() -> None:
    """Between modules the engine points at no database (a path below /dev/null cannot be opened):
    a test that uses it without asking for `database_url` fails at once, instead of reading the
    template or another module's copy."""
    from piccolo.engine.sqlite import SQLiteEngine

    from conference import db

    db.use_engine(SQLiteEngine(path="/dev/null/no-database-outside-database_url.sqlite3"))


async def _use_database(url: str) -> None:
    """Point DATABASE_URL, the settings and the engine at `url`."""
    os.environ["DATABASE_URL"] = url
    from conference import db
    from conference.settings import reset_settings

    settings = reset_settings()
    db.configure(settings)
    await db.start(settings)


@pytest.fixture(scope="session")
async def template_url() -> AsyncIterator[str]:
    """The migrated database with the demo data, built once; test modules work on copies of it."""
    if dbsetup.backend() == "postgres":
        reason = await dbsetup.postgres_available()
        if reason:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI requires PostgreSQL: {reason}")
            pytest.skip(reason)
    url = await dbsetup.fresh_template_url()
    await _use_database(url)
    from conference import db
    from conference.cli import migrate_forwards
    from conference.demo import load_demo

    await migrate_forwards()
    await load_demo()
    await db.stop()
    dbsetup.seal_template(url)
    _detach_engine()
    yield url
    await dbsetup.drop_database(url)


@pytest.fixture(scope="module")
async def database_url(template_url: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """This module's own copy of the template; DATABASE_URL, the settings and the engine point at it
    until the module ends, then it is dropped."""
    url = await dbsetup.copy_database(template_url, request.module.__name__.rsplit(".", 1)[-1])
    await _use_database(url)
    from conference import db, workdays

    await workdays.refresh(force=True)  # the holiday calendar as this copy stores it, not the last module's
    yield url
    await db.stop()
    _detach_engine()
    await dbsetup.drop_database(url)


@pytest.fixture(scope="module")
async def app(database_url: str) -> AsyncIterator[Any]:
    from conference.app import create_app

    yield create_app()
    for client in _clients.values():  # logged in on this module's database
        await client.aclose()
    _clients.clear()


def make_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, follow_redirects=False)


async def login(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    await client.get("/login")
    return await client.post("/login", data={"username": username, "password": password,
                                             "_csrf_token": client.cookies.get("csrftoken", "")})


@pytest.fixture(autouse=True)
def _forget_throttled_failures(request: pytest.FixtureRequest) -> None:
    """Every test client comes from one address, so failures counted by the brute-force throttle
    would pile up across tests and lock later ones out (429). Each test starts from zero; tests of
    the throttle itself count their failures within the one test. A plain fixture that asks for the
    async one only where a test uses the suite's database: browser tests run Playwright's own event
    loop, inside which pytest-asyncio cannot start an async fixture."""
    if "database_url" in request.fixturenames and request.node.get_closest_marker("browser") is None:
        request.getfixturevalue("_throttle_cleared")


@pytest.fixture
async def _throttle_cleared(database_url: str) -> None:
    from conference.accounts.tables import LoginThrottle

    await LoginThrottle.delete(force=True)


_clients: dict[str, httpx.AsyncClient] = {}


@pytest.fixture
async def anon(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as client:
        await client.get("/login")  # obtain a CSRF cookie like a browser would
        yield client


@pytest.fixture
async def as_user(app: Any) -> Any:
    """`await as_user("office")` -> a client logged in as that demo account (cached per module)."""

    async def get(username: str) -> httpx.AsyncClient:
        if username not in _clients:
            client = make_client(app)
            response = await login(client, username)
            assert response.status_code == 303, response.text
            _clients[username] = client
        return _clients[username]

    return get


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
    """POST a form as the browser would, CSRF token included."""
    return await client.post(url, data={**data, "_csrf_token": client.cookies.get("csrftoken", "")}, **kwargs)


def html(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


async def send_notice(client: httpx.AsyncClient, meeting_id: int) -> httpx.Response:
    """发送会议通知 as the office does it: open the preview, confirm what it shows. Out of scope or
    with nothing to send, the preview offers no confirmation and the POST is answered as such."""
    node = html(await client.get(f"/meetings/{meeting_id}/notify")).find("input", attrs={"name": "confirm"})
    return await post_form(client, f"/meetings/{meeting_id}/notify", {"confirm": node["value"] if node else ""})


def field_error(response: httpx.Response, name: str) -> str | None:
    node = html(response).find(id=f"e-{name}")
    return node.get_text(strip=True) if node else None


def field_value(response: httpx.Response, name: str) -> str | None:
    node = html(response).find(attrs={"name": name, "id": re.compile("^f-")})
    if node is None:
        return None
    if node.name == "textarea":
        return node.get_text()
    if node.name == "select":
        selected = node.find("option", selected=True)
        return selected.get("value") if selected else None
    return node.get("value")
