"""Full-text search (issue 16 item 1) through HTTP: Chinese phrases of two and of three or more
characters found in every kind of record, the index kept current by the change itself (update,
delete), each role seeing exactly what its lists show, matches highlighted with user text escaped,
paging, and the JSON API."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from piccolo.querystring import QueryString

from conference.accounts.services import issue_api_token
from conference.accounts.tables import User
from conference.agenda import services as agenda
from conference.agenda import views as agenda_views
from conference.agenda.routes import item_list as item_list_route
from conference.agenda.tables import AgendaItem
from conference.db import fetch
from conference.meetings import views as meeting_views
from conference.minutes.routes import minutes_page
from conference.search import services
from conference.tasks import views as task_views
from conference.tasks.tables import TaskReport
from tests import conftest, dbsetup
from tests.conftest import make_client
from tests.factories import actor, make_meeting

ROLES = ("admin", "office", "office_luozhuang", "convenor", "street", "street_luozhuang", "unit", "unit_police")


def tag() -> str:
    """A marker no other record contains (letters only: trigram and LIKE treat it as plain text)."""
    return "标" + uuid.uuid4().hex[:8]


def item_form(title: str, description: str) -> dict[str, str]:
    return {"title": title, "description": description, "category": "safety", "urgency": "normal"}


async def search_json(client: httpx.AsyncClient, q: str, kind: str | None = None, per_page: int = 200) -> dict[str, Any]:
    params: dict[str, Any] = {"q": q, "per_page": per_page}
    if kind:
        params["kind"] = kind
    response = await client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def refs(body: dict[str, Any], kind: str) -> set[int]:
    return {h["id"] for g in body["groups"] if g["kind"] == kind for h in g["hits"]}


@pytest.fixture
async def api(app: Any) -> Any:
    clients: dict[str, httpx.AsyncClient] = {}

    async def get(username: str) -> httpx.AsyncClient:
        if username not in clients:
            row = await User.select(User.id).where(User.username == username).first()
            assert row is not None
            client = make_client(app)
            client.headers["Authorization"] = f"Bearer {await issue_api_token(None, row['id'])}"
            clients[username] = client
        return clients[username]

    yield get
    for client in clients.values():
        await client.aclose()


# ---------------------------------------------------------------- Chinese phrases, kept current


async def test_two_and_longer_chinese_phrases_find_an_item_by_its_description(api):
    marker = tag()
    item_id = await agenda.create_item(await actor("street"), item_form(f"{marker}窨井盖缺失",
                                       "人民路北段窨井盖缺失，夜间已发生行人坠落事故。"), [], submit=True)
    street = await api("street")
    for phrase in ("坠落", "行人坠落", "夜间已发生行人坠落", "窨井"):
        assert item_id in refs(await search_json(street, phrase, "item"), "item"), phrase
    # Several terms must all occur, in any order; the marker narrows to this one item.
    body = await search_json(street, f"坠落 {marker}")
    assert refs(body, "item") == {item_id}
    assert (await search_json(street, f"{marker} 火灾"))["total"] == 0
    # One character, and two with punctuation, have no index of their own: a scan finds them.
    assert refs(await search_json(street, f"{marker} 坠"), "item") == {item_id}
    assert refs(await search_json(street, f"{marker} 落事"), "item") == {item_id}
    assert refs(await search_json(street, f"{marker} 失，"), "item") == {item_id}
    hit = next(h for g in body["groups"] for h in g["hits"])
    assert hit["url"] == f"/items/{item_id}"
    assert [s["text"] for s in hit["snippet_segments"] if s["match"]] == ["坠落"]
    assert [s["text"] for s in hit["title_segments"] if s["match"]] == [marker.lower()]


async def test_an_update_is_found_at_once_and_the_old_text_no_longer(api):
    marker = tag()
    street_actor = await actor("street")
    item_id = await agenda.create_item(street_actor, item_form(f"{marker}路灯", "路灯损坏多处。"), [], submit=False)
    street = await api("street")
    assert refs(await search_json(street, f"{marker} 损坏"), "item") == {item_id}
    item = await AgendaItem.select(AgendaItem.version).where(AgendaItem.id == item_id).first()
    await agenda.update_item(street_actor, item_id, {**item_form(f"{marker}路灯", "护栏锈蚀，存在坠落隐患。"),
                                                     "version": str(item["version"])}, [])
    assert refs(await search_json(street, f"{marker} 坠落隐患"), "item") == {item_id}
    assert refs(await search_json(street, f"{marker} 坠落"), "item") == {item_id}
    assert (await search_json(street, f"{marker} 损坏"))["total"] == 0


async def test_a_deleted_record_vanishes_from_the_results(api):
    marker = tag()
    item_id = await agenda.create_item(await actor("street"), item_form(f"{marker}井盖", "井盖坠落风险"), [])
    street = await api("street")
    assert refs(await search_json(street, marker), "item") == {item_id}
    await AgendaItem.delete().where(AgendaItem.id == item_id)
    assert (await search_json(street, marker))["total"] == 0
    assert await fetch("SELECT id FROM search_document WHERE kind = 'item' AND ref = {}", item_id) == []


async def test_meetings_are_found_by_title_and_place(api):
    marker = tag()
    meeting_id = await make_meeting(title=f"{marker}专题会议", location=f"{marker}二楼会议室")
    office = await api("office")
    assert refs(await search_json(office, f"{marker}专题"), "meeting") == {meeting_id}
    assert refs(await search_json(office, "二楼 " + marker), "meeting") == {meeting_id}
    # A draft is not yet the units' business (meetings.visibility.visible_meetings), nor another street's.
    assert (await search_json(await api("unit"), marker))["total"] == 0
    assert (await search_json(await api("street_luozhuang"), marker))["total"] == 0
    assert refs(await search_json(await api("street"), marker), "meeting") == {meeting_id}


async def test_task_reports_resolutions_and_minutes_are_searched(api):
    report = (await fetch(
        """SELECT tr.id, tr.text, t.id AS task, t.unit FROM task_report tr JOIN task t ON t.id = tr.task
           JOIN app_user u ON u.unit = t.unit WHERE u.username = 'unit' AND length(tr.text) >= 8 ORDER BY tr.id LIMIT 1"""))[0]
    phrase = report["text"][:6]
    unit = await api("unit")
    assert report["id"] in refs(await search_json(unit, phrase, "report"), "report")
    resolution = (await fetch("SELECT id, text, meeting FROM resolution ORDER BY id LIMIT 1"))[0]
    office = await api("office")
    found = await search_json(office, resolution["text"][2:9], "resolution")
    assert resolution["id"] in refs(found, "resolution")
    minutes = (await fetch("""SELECT v.id, v.sections FROM minutes_version v JOIN minutes m ON m.id = v.minutes
                               AND v.number = m.current_version ORDER BY v.id LIMIT 1"""))
    assert minutes, "the demo data has minutes"
    summary = json.loads(minutes[0]["sections"]).get("summary", "")
    phrase = summary.strip()[:5]
    assert minutes[0]["id"] in refs(await search_json(office, phrase, "minutes"), "minutes")
    # Streets and units do not read minutes drafts: the kind is not searched for them.
    for username in ("street", "unit"):
        assert "minutes" not in {g["kind"] for g in (await search_json(await api(username), phrase))["groups"]}


async def test_a_new_task_report_is_found_and_only_by_the_task_s_own_roles(api):
    report = (await fetch(
        """SELECT t.id AS task FROM task t JOIN app_user u ON u.unit = t.unit WHERE u.username = 'unit'
           ORDER BY t.id LIMIT 1"""))[0]
    marker = tag()
    from conference.timefmt import now

    report_id = await TaskReport.insert(TaskReport(task=report["task"], kind="progress", text=f"{marker}已完成护栏加固，杜绝坠落",
                                                   author_name="测试", created_at=now())).returning(TaskReport.id)
    rid = report_id[0]["id"]
    assert refs(await search_json(await api("unit"), f"{marker} 坠落"), "report") == {rid}
    assert (await search_json(await api("unit_police"), marker))["total"] == 0
    await TaskReport.update({TaskReport.text: f"{marker}护栏已更换"}).where(TaskReport.id == rid)
    assert (await search_json(await api("unit"), f"{marker} 坠落"))["total"] == 0
    assert refs(await search_json(await api("unit"), f"{marker} 更换"), "report") == {rid}


# ---------------------------------------------------------------- scope: exactly the lists


async def all_listed_items(who) -> set[int]:
    """Every page of the actor's agenda list: other tests add items, so one page may not hold them all."""
    ids: set[int] = set()
    page_number = 1
    while True:
        page = (await agenda_views.item_list(who, {"per_page": "200", "page": str(page_number)}))["page"]
        ids |= {r["id"] for r in page.rows}
        if page_number >= page.pages:
            return ids
        page_number += 1


async def test_each_role_finds_only_what_its_lists_show(api):
    """For every demo account, common two- and three-character phrases: each item, meeting and task
    report found is one the actor's own list shows (agenda, meetings, tasks), and whatever the list
    shows that contains the phrase is found."""
    for username in ROLES:
        who = await actor(username)
        client = await api(username)
        item_ids = await all_listed_items(who) if who.role in services.KIND_ROLES["item"] else set()
        meetings, _n = await meeting_views.meeting_rows(who, meeting_views.MeetingFilter())
        meeting_ids = {m["id"] for m in meetings}
        tasks = await fetch(QueryString("SELECT t.id FROM {} t", await task_views.scope_sql(who)))
        task_ids = {t["id"] for t in tasks}
        for phrase in ("街道", "会议", "整治"):
            body = await search_json(client, phrase, "item")
            assert refs(body, "item") <= item_ids, (username, phrase)
            expected = {r["id"] for r in await fetch(
                "SELECT id FROM agenda_item WHERE title LIKE {} OR description LIKE {}", f"%{phrase}%", f"%{phrase}%")}
            assert expected & item_ids <= refs(body, "item"), (username, phrase)
            body = await search_json(client, phrase, "meeting")
            assert refs(body, "meeting") <= meeting_ids, (username, phrase)
            body = await search_json(client, phrase, "report")
            reports = refs(body, "report")
            if reports:
                owners = await fetch(f"SELECT DISTINCT task FROM task_report WHERE id IN ({','.join(map(str, reports))})")
                assert {r["task"] for r in owners} <= task_ids, (username, phrase)
            if who.role not in services.KIND_ROLES["item"]:
                assert "item" not in {g["kind"] for g in (await search_json(client, phrase))["groups"]}


async def test_a_street_never_sees_another_street_s_items(api):
    marker = tag()
    lanshan = await agenda.create_item(await actor("street"), item_form(f"{marker}甲", "行人坠落"), [], submit=True)
    luozhuang = await agenda.create_item(await actor("street_luozhuang"), item_form(f"{marker}乙", "行人坠落"), [],
                                         submit=True)
    assert refs(await search_json(await api("street"), marker), "item") == {lanshan}
    assert refs(await search_json(await api("street_luozhuang"), marker), "item") == {luozhuang}
    assert refs(await search_json(await api("admin"), marker), "item") == {lanshan, luozhuang}
    assert (await search_json(await api("unit"), marker))["total"] == 0
    # A draft is its street's alone (agenda.visibility.visible_items): the offices find it once submitted.
    draft = await agenda.create_item(await actor("street"), item_form(f"{marker}丙", "草稿"), [])
    assert draft not in refs(await search_json(await api("office"), marker), "item")
    assert draft in refs(await search_json(await api("street"), marker), "item")


async def test_an_item_is_found_by_the_ticket_number_it_came_from(api, as_user):
    """Issue 15 item 2: the 12345 / grid ticket number of an item raised through intake is searched,
    in the same scope as the item's other text, kept current when it changes, and the migration
    writes the documents of existing items again."""
    number = f"12345-20261205-{uuid.uuid4().hex[:6]}"
    lanshan = await agenda.create_item(await actor("street"), item_form("沂蒙路占道经营", "早市占道经营，影响通行。"), [],
                                       submit=True, external={"external_ref": number, "external_source": "12345"})
    other = f"grid-{uuid.uuid4().hex[:6]}"
    luozhuang = await agenda.create_item(await actor("street_luozhuang"), item_form("路灯损坏", "路灯损坏多处。"), [],
                                         submit=True, external={"external_ref": other, "external_source": "grid"})
    for who in ("office", "admin", "street"):
        body = await search_json(await api(who), number)
        assert refs(body, "item") == {lanshan}, who
        hit = next(h for g in body["groups"] for h in g["hits"])
        assert [s["text"] for s in hit["snippet_segments"] if s["match"]] == [number]
    assert refs(await search_json(await api("street"), number.upper()), "item") == {lanshan}  # any case
    assert refs(await search_json(await api("street"), number[-8:]), "item") == {lanshan}  # a part of it
    assert (await search_json(await api("street_luozhuang"), number))["total"] == 0
    assert (await search_json(await api("unit"), number))["total"] == 0
    assert refs(await search_json(await api("street_luozhuang"), other), "item") == {luozhuang}
    assert (await search_json(await api("street"), other))["total"] == 0
    # The page shows it too.
    page = await (await as_user("office")).get("/search", params={"q": number})
    assert page.status_code == 200
    assert f"/items/{lanshan}" in {a["href"] for a in conftest.html(page).select("a[href]")}

    # A changed number is found at once, the old one no longer.
    changed = f"12345-20261206-{uuid.uuid4().hex[:6]}"
    await AgendaItem.update({AgendaItem.external_ref: changed}).where(AgendaItem.id == lanshan)
    assert refs(await search_json(await api("office"), changed), "item") == {lanshan}
    assert (await search_json(await api("office"), number))["total"] == 0

    # Documents written before the migration (without the number) are written again by it.
    await fetch("UPDATE search_document SET body = 'stale' WHERE kind = 'item' AND ref = {}", lanshan)
    assert (await search_json(await api("office"), changed))["total"] == 0
    await dbsetup.run_raw_steps("conference_2026_12_05t02_00_00_000000")
    assert refs(await search_json(await api("office"), changed), "item") == {lanshan}
    assert refs(await search_json(await api("office"), "早市占道"), "item") >= {lanshan}


def test_the_kinds_are_searched_for_the_roles_their_pages_admit():
    assert set(services.KIND_ROLES["item"]) == set(item_list_route.opt["roles"])
    assert set(services.KIND_ROLES["minutes"]) == set(minutes_page.opt["roles"])


# ---------------------------------------------------------------- the page


async def test_the_page_groups_by_kind_highlights_and_escapes(as_user):
    marker = tag()
    title = f"{marker}<b>坠落</b>&"
    await agenda.create_item(await actor("street"), item_form(title, "<script>alert(1)</script>行人坠落"), [], submit=True)
    await make_meeting(title=f"{marker}坠落防治会")
    office = await as_user("office")
    response = await office.get("/search", params={"q": f"{marker} 坠落"})
    assert response.status_code == 200
    page = conftest.html(response)
    assert page.select_one("form.nav-search input[name=q]") is not None
    kinds = [s["id"] for s in page.select("section.search-group")]
    assert kinds == ["kind-item", "kind-meeting"]
    hit = page.select_one("section#kind-item li.search-hit")
    heading = hit.select_one("a.hit-title")
    assert heading.find("b") is None and heading.get_text() == title  # the tag shown as text
    assert [m.get_text() for m in heading.find_all("mark")] == [marker.lower(), "坠落"]
    snippet = hit.select_one(".hit-snippet")
    assert snippet.find("script") is None and "<script>" in snippet.get_text()
    assert [m.get_text() for m in snippet.find_all("mark")] == ["坠落"]
    assert "<script>alert" not in response.text  # escaped in the source too


async def test_the_page_without_a_query_and_with_odd_input(as_user):
    unit = await as_user("unit")
    page = conftest.html(await unit.get("/search"))
    assert page.find(id="search-hint") is not None
    for q in ("   ", "%", "_", "\\", '"', "\x00坠落", "a" * 500, "'; DROP TABLE search_document; --"):
        response = await unit.get("/search", params={"q": q, "kind": "nonsense", "page": "x"})
        assert response.status_code == 200, q
    office = await as_user("office")
    marker = tag()
    await agenda.create_item(await actor("office"), {**item_form(f"{marker}折扣100%", "说明"),
                                                     "conference": str(await _lanshan_street_conference())}, [])
    body = conftest.html(await office.get("/search", params={"q": f"{marker} %"}))
    assert len(body.select("li.search-hit")) == 1  # the percent sign is text, not a wildcard


async def _lanshan_street_conference() -> int:
    from tests.factories import LANSHAN_STREET, conference_id

    return await conference_id(LANSHAN_STREET)


async def test_one_kind_is_paged(as_user, api):
    marker = tag()
    conference = await _lanshan_street_conference()
    office_actor = await actor("office")
    for n in range(7):
        await agenda.create_item(office_actor, {**item_form(f"{marker}第{n}项", "坠落"), "conference": str(conference)}, [])
    office = await as_user("office")
    overview = conftest.html(await office.get("/search", params={"q": marker}))
    assert len(overview.select("section#kind-item li.search-hit")) == services.TOP
    assert overview.select_one("section#kind-item a.more") is not None
    body = await search_json(await api("office"), marker, "item", per_page=3)
    assert body["groups"][0]["total"] == 7 and len(body["groups"][0]["hits"]) == 3
    last = await (await api("office")).get("/api/search", params={"q": marker, "kind": "item", "per_page": 3, "page": 9})
    assert last.json()["page"] == 3 and len(last.json()["groups"][0]["hits"]) == 1
    page2 = conftest.html(await office.get("/search", params={"q": marker, "kind": "item", "page": 2}))
    assert page2.select_one("nav.pager") is None  # 7 hits fit one page of 20
    newest_first = [h["id"] for h in body["groups"][0]["hits"]]
    assert newest_first == sorted(newest_first, reverse=True)  # equal scores: the newer first


async def test_the_title_ranks_before_the_text(api):
    marker = tag()
    conference = await _lanshan_street_conference()
    office_actor = await actor("office")
    in_text = await agenda.create_item(office_actor, {**item_form(f"{marker}甲", "关于坠落的说明"),
                                                      "conference": str(conference)}, [])
    in_title = await agenda.create_item(office_actor, {**item_form(f"{marker}坠落乙", "说明"),
                                                       "conference": str(conference)}, [])
    body = await search_json(await api("office"), f"{marker} 坠落", "item")
    assert [h["id"] for h in body["groups"][0]["hits"]] == [in_title, in_text]


async def test_the_api_refuses_an_unknown_kind_and_anonymous_callers(api, app):
    response = await (await api("office")).get("/api/search", params={"q": "坠落", "kind": "user"})
    assert response.status_code == 400 and "kind" in response.json()["errors"]
    async with make_client(app) as anon:
        assert (await anon.get("/api/search", params={"q": "坠落"})).status_code == 401
