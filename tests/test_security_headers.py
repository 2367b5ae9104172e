"""Issue 10, item 7: security headers on every page. The walk enumerates the app's GET routes, fills
their path parameters with demo records in the office's scope and checks every answer: a strict
Content-Security-Policy (no inline script or style allowed, no framing), X-Frame-Options,
nosniff, Referrer-Policy, no-store for a logged-in user; and that no HTML page needs what the policy
refuses (inline script, style attribute or element, event-handler attribute, javascript: URL)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import httpx
from bs4 import BeautifulSoup

from conference.accounts.scope import visible_conference_ids
from conference.accounts.tables import User
from conference.db import fetch
from conference.settings import get_settings
from conference.web import headers
from tests.conftest import make_client
from tests.test_permissions import handlers

SKIPPED = ("/api", "/static", "/schema/{")


def id_list(ids: set[int]) -> str:
    return ", ".join(str(int(i)) for i in sorted(ids)) or "0"


async def first(sql: str) -> int:
    rows = await fetch(sql)
    return int(rows[0]["id"]) if rows else 1


async def demo_ids() -> dict[str, Any]:
    """A record per path parameter, in the `office` account's scope where there is one."""
    office = await User.select(User.id, User.conference).where(User.username == "office").first()
    from conference.accounts.actor import Actor

    actor = Actor(id=office["id"], username="office", display_name="", role="office", conference_id=office["conference"])
    conferences = id_list(await visible_conference_ids(actor) or set())
    return {
        "meeting_id": await first(f"SELECT id FROM meeting WHERE conference IN ({conferences}) AND status <> 'draft' ORDER BY id"),
        "item_id": await first(f"SELECT id FROM agenda_item WHERE conference IN ({conferences}) ORDER BY id"),
        "attachment_id": await first(
            f"SELECT a.id FROM attachment a JOIN agenda_item i ON i.id = a.item WHERE i.conference IN ({conferences}) ORDER BY a.id"),
        "notification_id": await first(f"SELECT id FROM notification WHERE conference IN ({conferences}) ORDER BY id"),
        "minutes_id": await first(
            f"SELECT m.id FROM minutes m JOIN meeting g ON g.id = m.meeting WHERE g.conference IN ({conferences}) ORDER BY m.id"),
        "request_id": await first(f"SELECT id FROM special_meeting_request WHERE conference IN ({conferences}) ORDER BY id"),
        "task_id": await first(f"SELECT id FROM task WHERE conference IN ({conferences}) ORDER BY id"),
        "invitation_id": await first("SELECT id FROM invitation ORDER BY id"),
        "user_id": office["id"],
        "target_id": await first(f"SELECT id FROM integration_target WHERE conference IN ({conferences}) ORDER BY id"),
        "conferences": office["conference"],
        "streets": await first("SELECT id FROM street ORDER BY id"),
        "units": await first(f"SELECT unit AS id FROM membership WHERE conference IN ({conferences}) ORDER BY id"),
        "convenors": await first(f"SELECT person AS id FROM convenor_appointment WHERE conference IN ({conferences}) ORDER BY id"),
        "token": "not-a-real-token-0123456789abcdef",
        "filename": "not-a-real-token.ics",
        "name": "1",
    }


def fill(path: str, ids: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name == "record_id":
            return str(ids[path.split("/")[2]])
        return str(ids[name])

    return re.sub(r"\{([^}]+)\}", value, path)


def assert_headers(url: str, response: httpx.Response, *, logged_in: bool) -> None:
    csp = response.headers.get("content-security-policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    assert directives.get("frame-ancestors") == "'none'", (url, csp)
    fallback = directives.get("default-src")
    # no 'unsafe-inline', no 'unsafe-eval' (a handler may set a stricter policy of its own: 'none')
    assert directives.get("script-src", fallback) in ("'self'", "'none'"), (url, csp)
    assert directives.get("style-src", fallback) in ("'self'", "'none'"), (url, csp)
    assert directives.get("object-src", fallback) == "'none'", (url, csp)
    assert response.headers.get("x-frame-options") == "DENY", url
    assert response.headers.get("x-content-type-options") == "nosniff", url
    assert response.headers.get("referrer-policy") in ("same-origin", "no-referrer"), url
    if logged_in:
        cache = response.headers.get("cache-control", "")
        assert "no-store" in cache or "private" in cache, (url, cache)
    assert "strict-transport-security" not in response.headers  # BASE_URL is http in the tests


def inline_code(page: str) -> list[str]:
    """What a strict CSP would refuse: inline scripts, style elements and attributes, on* handlers,
    javascript: URLs."""
    soup = BeautifulSoup(page, "html.parser")
    found = []
    for script in soup.find_all("script"):
        if not script.get("src") and script.get("type") != "application/json":
            found.append(f"inline <script>: {script.get_text()[:60]!r}")
    found += [f"<style>: {s.get_text()[:60]!r}" for s in soup.find_all("style")]
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            if name == "style" and tag.name != "svg":
                found.append(f"style attribute on <{tag.name}>: {value!r}")
            elif name.lower().startswith("on"):
                found.append(f"{name} on <{tag.name}>")
            elif name in ("href", "action", "formaction", "src") and str(value).strip().lower().startswith("javascript:"):
                found.append(f"javascript: URL on <{tag.name}>")
    return found


async def test_every_get_page_as_office_carries_the_security_headers(app, as_user):
    office = await as_user("office")
    ids = await demo_ids()
    paths = sorted({p for m, p, _h in handlers(app) if m == "GET" and not p.startswith(SKIPPED)})
    assert len(paths) > 60
    pages, problems = 0, []
    for path in paths:
        url = fill(path, ids)
        response = await office.get(url)
        assert response.status_code < 500, (url, response.status_code)
        assert_headers(url, response, logged_in=True)
        if response.headers.get("content-type", "").startswith("text/html"):
            problems += [f"{url}: {p}" for p in inline_code(response.text)]
            pages += response.status_code == 200
    assert pages > 40, pages  # most pages answered with content, not an error
    assert not problems, "\n".join(problems)


async def test_pages_without_a_log_in_carry_them_too(app):
    async with make_client(app) as anon:
        for url in ("/login", "/healthz", "/r/not-a-real-token-0123456789", "/no-such-page", "/meetings", "/schema",
                    "/static/app.css", "/feeds/not-a-real-token.ics"):
            response = await anon.get(url)
            assert_headers(url, response, logged_in=False)
            if response.headers.get("content-type", "").startswith("text/html"):
                assert not inline_code(response.text), (url, inline_code(response.text))
        # The reply-link page shows personal data without a log-in: never cached, no Referer.
        response = await anon.get("/r/not-a-real-token-0123456789")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "no-store" not in (await anon.get("/login")).headers.get("cache-control", "")


async def test_every_role_gets_no_store_on_its_home_page(as_user):
    for username in ("admin", "office", "convenor", "street", "unit"):
        response = await (await as_user(username)).get("/")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store", username


async def test_hsts_only_under_https(app, monkeypatch):
    async with make_client(app) as anon:
        assert "strict-transport-security" not in (await anon.get("/login")).headers
        secure = dataclasses.replace(get_settings(), base_url="https://lxhy.example.gov.cn")
        monkeypatch.setattr(headers, "get_settings", lambda: secure)
        hsts = (await anon.get("/login")).headers["strict-transport-security"]
        assert "max-age=31536000" in hsts


async def test_the_confirmations_moved_to_data_attributes(as_user):
    """What was onsubmit="return confirm(...)" is data-confirm, read by static/app.js (served)."""
    office = await as_user("office")
    ids = await demo_ids()
    page = BeautifulSoup((await office.get(f"/meetings/{ids['meeting_id']}")).text, "html.parser")
    assert page.find("script", src="/static/app.js") is not None
    script = await office.get("/static/app.js")
    assert script.status_code == 200 and "dataset.confirm" in script.text
