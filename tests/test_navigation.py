"""The main navigation (issue 11 item 2): grouped (会议, 议题, 督办, 统计, 登记, 系统), each role sees
exactly the groups and links it may use (deny by default: every link's route admits the role), the
workbench and, for units and streets, the messages with their unread badge; one menu button folds it
all on a phone (a <details>, no script). Parsed HTML on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup

from tests.conftest import html

EVERY_PAGE = {"/", "/meetings", "/meetings/calendar", "/tasks"}
EXPECTED: dict[str, dict[str, list[str]]] = {
    "admin": {
        "会议": ["/meetings", "/meetings/calendar", "/special-requests", "/meetings/plenaries"],
        "议题": ["/items"],
        "督办": ["/tasks"],
        "统计": ["/supervision", "/supervision/assessment", "/supervision/bulletin", "/supervision/ledger"],
        "登记": ["/registry/conferences", "/registry/units", "/registry/streets", "/registry/convenors", "/holidays"],
        "系统": ["/accounts/units", "/outbox", "/mail/dead-letters", "/mail/replies", "/integrations", "/audit", "/admin/users", "/admin/fonts"],
    },
    "office": {
        "会议": ["/meetings", "/meetings/calendar", "/special-requests", "/meetings/plenaries"],
        "议题": ["/items"],
        "督办": ["/tasks"],
        "统计": ["/supervision", "/supervision/assessment", "/supervision/bulletin", "/supervision/ledger"],
        "登记": ["/registry/conferences", "/registry/units", "/registry/streets", "/registry/convenors", "/holidays"],
        "系统": ["/accounts/units", "/outbox", "/mail/dead-letters", "/mail/replies", "/integrations", "/audit"],
    },
    "convenor": {
        "会议": ["/meetings", "/meetings/calendar", "/special-requests", "/meetings/plenaries", "/holidays"],
        "议题": ["/items"],
        "督办": ["/tasks"],
        "统计": ["/supervision", "/supervision/assessment", "/supervision/bulletin", "/supervision/ledger"],
        "登记": ["/registry/conferences"],
    },
    "street": {
        "会议": ["/meetings", "/meetings/calendar", "/special-requests", "/holidays"],
        "议题": ["/items"],
        "督办": ["/tasks"],
    },
    "unit": {
        "会议": ["/meetings", "/meetings/calendar", "/my/invitations", "/calendar/feed", "/holidays"],
        "督办": ["/tasks"],
    },
}


def nav_of(page: BeautifulSoup) -> tuple[list[str], dict[str, list[str]]]:
    """(the links outside the groups, {group title: its links})."""
    nav = page.find("nav", attrs={"aria-label": "主导航"})
    top = [a["href"] for a in nav.select("ul.nav-top > li > a")]
    groups = {d.find("summary").get_text(strip=True): [a["href"] for a in d.select("ul a")] for d in nav.select("details.nav-group")}
    return top, groups


def route_roles(app: Any) -> dict[str, tuple[str, ...]]:
    """The roles each GET page route admits (its deny-by-default declaration)."""
    roles: dict[str, tuple[str, ...]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in (handler.http_methods or ()):
                roles[route.path] = tuple(handler.opt.get("roles") or ())
    return roles


@pytest.mark.parametrize("username", list(EXPECTED))
async def test_each_role_sees_exactly_its_groups(as_user: Any, app: Any, username: str) -> None:
    page = html(await (await as_user(username)).get("/"))
    top, groups = nav_of(page)
    assert groups == EXPECTED[username]
    # the workbench first; messages only for the units and streets that receive them
    assert top == (["/", "/notifications"] if username in ("unit", "street") else ["/"])
    assert page.find("nav").select_one("ul.nav-top > li > a").get_text(strip=True) == "工作台"
    # deny by default: no link leads to a page that would refuse the role
    allowed = route_roles(app)
    for href in top + [h for links in groups.values() for h in links]:
        assert username in allowed[href], (username, href)
    assert EVERY_PAGE <= set(top) | {h for links in groups.values() for h in links}
    # the search box stays beside the menu
    assert page.select_one("header form.nav-search input[name=q]") is not None


async def test_every_top_level_page_is_in_some_roles_menu(as_user: Any, app: Any) -> None:
    """Each list page a role may open is in its menu or one click from a page that is (the
    account's own page from the name, the supervision tabs, the registry's account pages)."""
    menus: dict[str, set[str]] = {}
    for username in EXPECTED:
        top, groups = nav_of(html(await (await as_user(username)).get("/")))
        menus[username] = set(top) | {h for links in groups.values() for h in links}
    reached_otherwise = {"/account", "/search", "/accounts/streets", "/accounts/convenors", "/registry/units/import",
                         "/healthz", "/login", "/forgot-password", "/integrations/deliveries"}
    for path, roles in route_roles(app).items():
        if "{" in path or path.startswith(("/api", "/static", "/schema", "/feeds")) or path.endswith(("/new", ".xlsx", ".csv", ".pdf")):
            continue
        if path in reached_otherwise:
            continue
        for role in roles:
            assert path in menus[role], (role, path)


@pytest.mark.parametrize("username", ["office", "unit"])
async def test_the_menu_folds_behind_one_button(as_user: Any, username: str) -> None:
    nav = html(await (await as_user(username)).get("/tasks")).find("nav", attrs={"aria-label": "主导航"})
    menu = nav.find("details", class_="nav-menu")
    assert menu is not None and not menu.has_attr("open")
    assert menu.find("summary").get_text(strip=True).startswith("菜单")
    assert menu.select_one("ul.nav-top") is not None
    assert not nav.select("script") and not nav.select("[onclick], [style]")


async def test_anonymous_pages_have_no_menu(anon: Any) -> None:
    page = html(await anon.get("/login"))
    assert page.find("nav", attrs={"aria-label": "主导航"}) is None
