"""Who may call what: a status matrix over every page route x method x demo role, the rule that every
handler declares its audience, and object-level scope (an office only reaches its own conferences)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import httpx
import pytest

from conference.accounts.tables import ROLES, User
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person, Street
from tests.conftest import html, login, make_client, post_form

# The people's roles: `intake` is a machine account of the 12345/grid intake API, and only the intake
# endpoints admit it (test_every_handler_declares_who_may_call_it).
ALL = frozenset(ROLES) - {"intake"}
INTAKE_ONLY_PATHS = ("/api/intake/",)
OFFICE = frozenset({"admin", "office"})
PUBLIC = "public"

# Every page route of the app and the roles allowed to call it. A route the app gains without an
# entry here is still tested against what it declares (see test_every_page_route_answers_by_role).
EXPECTED: dict[tuple[str, str], Any] = {
    ("GET", "/"): ALL,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): ALL,
    ("GET", "/account"): ALL,
    ("POST", "/account/password"): ALL,
    ("POST", "/account/token"): ALL,
    ("GET", "/admin/users"): frozenset({"admin"}),
    ("GET", "/admin/fonts"): frozenset({"admin"}),
    ("GET", "/admin/users/new"): frozenset({"admin"}),
    ("POST", "/admin/users/new"): frozenset({"admin"}),
    ("GET", "/audit"): OFFICE,
    ("POST", "/registry/units/{record_id:int}/end"): OFFICE,
    ("POST", "/registry/conferences/{record_id:int}/memberships"): OFFICE,
    ("POST", "/registry/conferences/{record_id:int}/appointments"): OFFICE,
    ("POST", "/registry/memberships/{record_id:int}/end"): OFFICE,
    ("POST", "/registry/appointments/{record_id:int}/end"): OFFICE,
}
for _slug in ("streets", "units", "convenors", "conferences"):
    _read = OFFICE | {"convenor"} if _slug == "conferences" else OFFICE
    _base = f"/registry/{_slug}"
    EXPECTED.update({
        ("GET", _base): _read,
        ("GET", f"{_base}/new"): OFFICE,
        ("POST", f"{_base}/new"): OFFICE,
        ("GET", f"{_base}/{{record_id:int}}"): _read,
        ("GET", f"{_base}/{{record_id:int}}/edit"): OFFICE,
        ("POST", f"{_base}/{{record_id:int}}/edit"): OFFICE,
    })

# The demo accounts of the matrix; office_luozhuang is an office too, but of 罗庄街道's conference.
ACCOUNTS = ["anonymous", "admin", "office", "office_luozhuang", "convenor", "street", "unit"]
ROLE_OF = {"anonymous": None, "admin": "admin", "office": "office", "office_luozhuang": "office",
           "convenor": "convenor", "street": "street", "unit": "unit"}

LANSHAN = {"conference": "兰山街道城市基层党建联席会议", "street": "兰山街道", "unit": "兰山区市场监管局", "person": "王建国"}
LUOZHUANG = {"conference": "罗庄街道城市基层党建联席会议", "street": "罗庄街道", "unit": "罗庄区市场监管局", "person": "李红梅"}
LANSHAN_DISTRICT = "兰山区城市基层党建联席会议"


def is_skipped(path: str) -> bool:
    return path.startswith(("/static", "/schema", "/api"))


def handlers(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, handler) for every HTTP handler, without Litestar's automatic OPTIONS ones."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.handler_name == "options_handler":  # added by Litestar to every path
                continue
            for method in sorted(handler.http_methods):
                found.append((method, route.path, handler))
    return found


async def scope_ids(names: dict[str, str]) -> dict[str, int]:
    conference = (await Conference.select(Conference.id).where(Conference.name == names["conference"]).first())["id"]
    street = (await Street.select(Street.id).where(Street.name == names["street"]).first())["id"]
    unit = (await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == names["unit"]).first())["id"]
    person = (await Person.select(Person.id).where(Person.name == names["person"]).first())["id"]
    membership = (await Membership.select(Membership.id).where(
        (Membership.unit == unit) & (Membership.conference == conference)).first())["id"]
    appointment = (await ConvenorAppointment.select(ConvenorAppointment.id).where(
        (ConvenorAppointment.person == person) & (ConvenorAppointment.conference == conference)).first())["id"]
    return {"conferences": conference, "streets": street, "units": unit, "convenors": person,
            "memberships": membership, "appointments": appointment}


def fill(path: str, ids: dict[str, int]) -> str:
    """A concrete URL for a route path: record ids of the demo records in the caller's own scope."""
    segment = path.split("/")[2] if path.startswith("/registry/") else "conferences"
    return re.sub(r"\{[^}]+\}", str(ids.get(segment, ids["conferences"])), path)


def test_every_handler_declares_who_may_call_it(app):
    """A handler without opt public/roles is refused to everyone by the guard; this makes a forgotten
    declaration fail the suite instead of silently locking a page (API handlers included)."""
    missing, unknown = [], []
    for method, path, handler in handlers(app):
        opt = handler.opt
        if opt.get("public") is True:
            continue
        roles = opt.get("roles")
        if not roles:
            missing.append(f"{method} {path}")
        elif "intake" in roles and not path.startswith(INTAKE_ONLY_PATHS):
            unknown.append(f"{method} {path}: the intake account is for the intake API only")
        elif set(roles) - ALL - {"intake"}:
            unknown.append(f"{method} {path}: {sorted(set(roles) - ALL)}")
    assert not missing, f"handlers without opt public/roles: {missing}"
    assert not unknown, f"handlers naming unknown roles: {unknown}"


def test_expectation_table_matches_the_app(app):
    """Each route of the table exists and declares exactly the roles the table expects."""
    declared = {(m, p): (PUBLIC if h.opt.get("public") else frozenset(h.opt.get("roles") or ()))
                for m, p, h in handlers(app) if not is_skipped(p)}
    for key, expected in EXPECTED.items():
        assert key in declared, f"route gone: {key}"
        assert declared[key] == expected, f"{key}: declares {declared[key]}, expected {expected}"


async def test_every_page_route_answers_by_role(app):
    routes = sorted({(m, p) for m, p, _h in handlers(app) if not is_skipped(p)},
                    key=lambda mp: (mp == ("POST", "/logout"), mp[1], mp[0]))  # log out last
    declared = {(m, p): (PUBLIC if h.opt.get("public") else frozenset(h.opt.get("roles") or ()))
                for m, p, h in handlers(app)}
    lanshan, luozhuang = await scope_ids(LANSHAN), await scope_ids(LUOZHUANG)
    saved_tokens = {r["id"]: r["api_token_hash"] for r in await User.select(User.id, User.api_token_hash)}
    failures: list[str] = []
    try:
        for account in ACCOUNTS:
            async with make_client(app) as client:
                if account == "anonymous":
                    await client.get("/login")
                else:
                    assert (await login(client, account)).status_code == 303
                ids = luozhuang if account == "office_luozhuang" else lanshan
                for method, path in routes:
                    expected = EXPECTED.get((method, path), declared[(method, path)])
                    if (method, path) not in EXPECTED and method != "GET" and (expected == PUBLIC or ROLE_OF[account] in expected):
                        # A route this table does not know: an allowed POST could really act (cancel a
                        # meeting...) on the shared demo data, so only its refusals are checked here.
                        continue
                    url = fill(path, ids)
                    if method == "GET":
                        response = await client.get(url)
                    else:  # an empty form: passes CSRF, then fails validation, so nothing changes
                        response = await post_form(client, url, {})
                    problem = check(account, method, path, url, expected, response)
                    if problem:
                        failures.append(problem)
    finally:
        for user_id, token_hash in saved_tokens.items():  # POST /account/token replaced them
            await User.update({User.api_token_hash: token_hash}).where(User.id == user_id)
    assert not failures, "\n".join(failures)


def check(account: str, method: str, path: str, url: str, expected: Any, response: httpx.Response) -> str | None:
    status = response.status_code
    where = f"{account:<16} {method:<4} {url}: {status}"
    if status >= 500:
        return f"{where} (server error)"
    role = ROLE_OF[account]
    known = (method, path) in EXPECTED
    if expected == PUBLIC:
        if not known:  # its path ids are guesses: any answer but a server error
            return None
        return None if status in (200, 303, 400) else f"{where}, expected a public answer"
    if role is None:
        location = response.headers.get("location", "")
        wanted = "/login?next=" + urllib.parse.quote(url, safe="")
        return None if status == 303 and location == wanted else f"{where} -> {location!r}, expected 303 to {wanted}"
    if role not in expected:
        if status != 403:
            return f"{where}, expected 403"
        heading = html(response).find("h1")
        return None if heading and heading.get_text(strip=True) == "您的角色无权访问此页面。" else f"{where}: no Chinese 403 page"
    if method == "GET" and (method, path) in EXPECTED:
        return None if status == 200 else f"{where}, expected 200"
    if not known:  # its path ids are guesses (404, 409 are fair answers), but it must not refuse the role
        return None if status not in (401, 403) else f"{where}, refused a role it declares"
    return None if status in (200, 303, 400) else f"{where}, expected 200/303/400"


# ---------------------------------------------------------------- object-level scope


@pytest.fixture
async def lanshan_ids(app):
    return await scope_ids(LANSHAN)


@pytest.fixture
async def luozhuang_ids(app):
    return await scope_ids(LUOZHUANG)


def assert_nothing_leaks(response: httpx.Response, *secrets: str) -> None:
    assert response.status_code in (403, 404), response.status_code
    text = html(response).get_text()
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked in a {response.status_code} page"


async def test_office_of_another_conference_cannot_reach_lanshan_conferences(as_user, lanshan_ids):
    client = await as_user("office_luozhuang")
    district = (await Conference.select(Conference.id).where(Conference.name == LANSHAN_DISTRICT).first())["id"]
    for conference_id, name in ((lanshan_ids["conferences"], LANSHAN["conference"]), (district, LANSHAN_DISTRICT)):
        before = await Conference.select().where(Conference.id == conference_id).first()
        base = f"/registry/conferences/{conference_id}"
        assert_nothing_leaks(await client.get(base), name, "lxhy-")
        assert_nothing_leaks(await client.get(f"{base}/edit"), name, "lxhy-")
        assert_nothing_leaks(await post_form(client, f"{base}/edit", {
            "name": name + "（改）", "level": before["level"], "parent": str(before["parent"] or ""),
            "street": str(before["street"] or ""), "office_email": "x@example.gov.cn", "version": str(before["version"]),
        }), name)
        assert_nothing_leaks(await post_form(client, f"{base}/memberships", {
            "unit": str(lanshan_ids["units"]), "start_date": "2030-01-01"}), name)
        assert_nothing_leaks(await post_form(client, f"{base}/appointments", {
            "person": str(lanshan_ids["convenors"]), "start_date": "2030-01-01"}), name)
        assert await Conference.select().where(Conference.id == conference_id).first() == before
    listing = html(await client.get("/registry/conferences")).get_text()
    assert LANSHAN["conference"] not in listing and LANSHAN_DISTRICT not in listing
    assert LUOZHUANG["conference"] in listing


async def test_office_of_another_conference_cannot_end_lanshan_memberships_or_appointments(as_user, lanshan_ids):
    client = await as_user("office_luozhuang")
    for kind, table in (("memberships", Membership), ("appointments", ConvenorAppointment)):
        record_id = lanshan_ids[kind]
        before = await table.select().where(table.id == record_id).first()
        response = await post_form(client, f"/registry/{kind}/{record_id}/end",
                                   {"end_date": "2030-01-01", "version": str(before["version"])})
        assert_nothing_leaks(response, LANSHAN["conference"], LANSHAN["unit"], LANSHAN["person"])
        assert await table.select().where(table.id == record_id).first() == before


async def test_convenor_sees_only_the_conferences_he_convenes(as_user, luozhuang_ids, lanshan_ids):
    client = await as_user("convenor")
    assert (await client.get(f"/registry/conferences/{lanshan_ids['conferences']}")).status_code == 200
    assert_nothing_leaks(await client.get(f"/registry/conferences/{luozhuang_ids['conferences']}"), LUOZHUANG["conference"])
    names = [a.get_text(strip=True) for a in html(await client.get("/registry/conferences")).select("table.list tbody a")]
    assert names == [LANSHAN["conference"]]


async def test_lanshan_office_cannot_change_luozhuang_records(as_user, luozhuang_ids):
    client = await as_user("office")
    unit_id = luozhuang_ids["units"]
    unit = await MemberUnit.select().where(MemberUnit.id == unit_id).first()
    response = await post_form(client, f"/registry/units/{unit_id}/edit", {
        "name": unit["name"], "kind": unit["kind"], "parent_unit": "", "duties": "改写", "liaison_name": "某人",
        "version": str(unit["version"])})
    assert response.status_code == 403
    assert html(response).find("h1").get_text(strip=True) == "该记录属于其他联席会议，您无权修改。"
    response = await post_form(client, f"/registry/units/{unit_id}/end", {"ended_on": "2030-01-01",
                                                                          "version": str(unit["version"])})
    assert response.status_code == 403
    assert await MemberUnit.select().where(MemberUnit.id == unit_id).first() == unit
    assert await Membership.count().where((Membership.unit == unit_id) & Membership.end_date.is_not_null()) == 0

    street = await Street.select().where(Street.id == luozhuang_ids["streets"]).first()
    response = await post_form(client, f"/registry/streets/{street['id']}/edit", {
        "name": street["name"], "district": "别的区", "version": str(street["version"])})
    assert response.status_code == 403
    person = await Person.select().where(Person.id == luozhuang_ids["convenors"]).first()
    response = await post_form(client, f"/registry/convenors/{person['id']}/edit", {
        "name": "改名", "version": str(person["version"])})
    assert response.status_code == 403
    assert await Street.select().where(Street.id == street["id"]).first() == street
    assert await Person.select().where(Person.id == person["id"]).first() == person


@pytest.mark.parametrize("username", ["street", "unit"])
async def test_street_and_unit_never_see_registry_pages(as_user, lanshan_ids, username):
    client = await as_user(username)
    for url in ("/registry/conferences", f"/registry/conferences/{lanshan_ids['conferences']}", "/registry/units",
                f"/registry/units/{lanshan_ids['units']}", "/registry/streets", f"/registry/streets/{lanshan_ids['streets']}",
                "/registry/convenors", "/audit", "/admin/users"):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert LANSHAN["conference"] not in response.text
    nav = [a["href"] for a in html(await client.get("/")).select("header nav a")]
    assert not [href for href in nav if href.startswith(("/registry", "/audit", "/admin"))], nav


async def test_street_home_shows_only_its_own_street(as_user):
    page = html(await (await as_user("street")).get("/"))
    assert page.find(id="my-street").get_text(strip=True) == "兰山街道"
    assert [li.get_text(strip=True) for li in page.select(".conference-list li")] == [LANSHAN["conference"]]
    assert page.select(".conference-list a") == []  # a street cannot open registry pages, so no links
    assert "罗庄街道" not in page.get_text()


async def test_unit_home_shows_only_its_own_unit(as_user):
    page = html(await (await as_user("unit")).get("/"))
    assert page.find(id="my-unit").get_text(strip=True) == "兰山区市场监管局"
    text = page.get_text()
    other_units = [name for name in (await MemberUnit.select(MemberUnit.name)) if name["name"] != "兰山区市场监管局"]
    assert not [u["name"] for u in other_units if u["name"] in text]
    conferences = {li.get_text(strip=True) for li in page.select(".conference-list li")}
    assert conferences == {LANSHAN_DISTRICT, LANSHAN["conference"], "银雀山街道城市基层党建联席会议"}
    assert "罗庄" not in text


async def test_shared_record_pages_list_only_conferences_in_scope(as_user, lanshan_ids, luozhuang_ids):
    """Units, streets and convenors are shared reference records any office may open; the conferences
    listed on their pages are still only the ones the office may see."""
    client = await as_user("office_luozhuang")
    lanshan_names = (LANSHAN["conference"], LANSHAN_DISTRICT, "银雀山街道城市基层党建联席会议")
    for url in (f"/registry/units/{lanshan_ids['units']}", f"/registry/convenors/{lanshan_ids['convenors']}",
                f"/registry/streets/{lanshan_ids['streets']}"):
        response = await client.get(url)
        assert response.status_code == 200, url
        text = html(response).get_text()
        assert not [name for name in lanshan_names if name in text], url
    # Its own conference still shows on the pages of its own records.
    for url in (f"/registry/units/{luozhuang_ids['units']}", f"/registry/convenors/{luozhuang_ids['convenors']}",
                f"/registry/streets/{luozhuang_ids['streets']}"):
        links = [a.get_text(strip=True) for a in html(await client.get(url)).select("main a[href^='/registry/conferences/']")]
        assert LUOZHUANG["conference"] in links, url
    # The admin sees every conference a unit belongs to.
    admin = await as_user("admin")
    text = html(await admin.get(f"/registry/units/{lanshan_ids['units']}")).get_text()
    assert all(name in text for name in lanshan_names)
