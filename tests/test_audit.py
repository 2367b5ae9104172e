"""The audit trail: every changing service writes exactly one event (actor, action, record, the changed
values only), and the /audit page filters them and shows an office only its own conferences' trail."""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid
from typing import Any

import httpx
import pytest

from conference.accounts import services as accounts
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.audit.tables import AuditEvent
from conference.registry import services
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit
from conference.timefmt import today
from tests.conftest import html


def uid() -> str:
    return uuid.uuid4().hex[:8]


async def actor(username: str) -> Any:
    return actor_from_row(await User.select(*ACTOR_COLUMNS).where(User.username == username).first())


async def events(entity: str, entity_id: int) -> list[dict[str, Any]]:
    return await AuditEvent.select().where((AuditEvent.entity == entity) & (AuditEvent.entity_id == entity_id)).order_by(
        AuditEvent.id).output(load_json=True)


class Trail:
    """Counts the events of one record around an action: exactly one must appear."""

    def __init__(self, entity: str, entity_id: int) -> None:
        self.entity, self.entity_id = entity, entity_id

    async def __aenter__(self) -> Trail:
        self.before = len(await events(self.entity, self.entity_id))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            rows = await events(self.entity, self.entity_id)
            assert len(rows) == self.before + 1, f"{self.entity} #{self.entity_id}: {len(rows) - self.before} new events"
            self.event = rows[-1]


def assert_event(event: dict[str, Any], who: Any, action: str, entity: str, entity_id: int, **expected: Any) -> None:
    assert (event["actor"], event["actor_name"], event["action"], event["entity"], event["entity_id"]) == (
        who.id if who else None, who.label if who else "system", action, entity, entity_id)
    for key, value in expected.items():
        assert event[key] == value, (key, event[key], value)
    assert abs(event["at"] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


async def last_event(entity: str) -> dict[str, Any]:
    return (await AuditEvent.select().where(AuditEvent.entity == entity).order_by(AuditEvent.id, ascending=False)
            .first().output(load_json=True))


async def district_conference() -> dict[str, Any]:
    return await Conference.select().where(Conference.name == "兰山区城市基层党建联席会议").first()


# ---------------------------------------------------------------- one event per change


async def test_street_create_and_update_are_audited(app):
    admin = await actor("admin")
    name = f"审计街道{uid()}"
    street_id = await services.create_street(admin, {"name": name, "district": "兰山区", "phone": "0539-1111111"})
    event = await last_event("street")
    assert_event(event, admin, "create", "street", street_id, before=None, conference_id=None)
    assert (event["after"]["name"], event["after"]["district"], event["after"]["phone"]) == (name, "兰山区", "0539-1111111")

    async with Trail("street", street_id) as trail:
        await services.update_street(admin, street_id, {"name": name, "district": "兰山区", "phone": "0539-2222222",
                                                        "version": "1"})
    assert_event(trail.event, admin, "update", "street", street_id,
                 before={"phone": "0539-1111111"}, after={"phone": "0539-2222222"})


async def test_conference_create_and_update_are_audited(app):
    admin = await actor("admin")
    parent = await district_conference()
    street_id = await services.create_street(admin, {"name": f"审计街道{uid()}", "district": "兰山区"})
    name = f"审计联席会议{uid()}"
    conference_id = await services.create_conference(admin, {"name": name, "level": "street", "parent": str(parent["id"]),
                                                              "street": str(street_id)})
    event = await last_event("conference")
    # A conference's own trail: its office (and the offices above) see that it was set up.
    assert_event(event, admin, "create", "conference", conference_id, before=None, conference_id=conference_id)
    assert (event["after"]["name"], event["after"]["level"], event["after"]["parent"], event["after"]["street"]) == (
        name, "street", parent["id"], street_id)

    async with Trail("conference", conference_id) as trail:
        await services.update_conference(admin, conference_id, {
            "name": name, "level": "street", "parent": str(parent["id"]), "street": str(street_id),
            "office_email": "audit@example.gov.cn", "version": "1"})
    assert_event(trail.event, admin, "update", "conference", conference_id, conference_id=conference_id,
                 before={"office_email": ""}, after={"office_email": "audit@example.gov.cn"})


async def test_unit_create_update_and_end_are_audited(app):
    office = await actor("office")
    name = f"审计单位{uid()}"
    unit_id = await services.create_unit(office, {"name": name, "kind": "department", "duties": "旧职责"})
    event = await last_event("member_unit")
    assert_event(event, office, "create", "member_unit", unit_id, before=None)
    assert (event["after"]["name"], event["after"]["kind"], event["after"]["duties"]) == (name, "department", "旧职责")

    async with Trail("member_unit", unit_id) as trail:
        await services.update_unit(office, unit_id, {"name": name, "kind": "department", "duties": "新职责",
                                                     "liaison_email": "l@example.gov.cn", "version": "1"})
    assert_event(trail.event, office, "update", "member_unit", unit_id,
                 before={"duties": "旧职责", "liaison_email": ""}, after={"duties": "新职责", "liaison_email": "l@example.gov.cn"})

    conference = await district_conference()
    membership_id = await services.add_membership(office, conference["id"], {"unit": str(unit_id), "start_date": "2025-02-01"})
    async with Trail("member_unit", unit_id) as trail, Trail("membership", membership_id) as ended:
        await services.end_unit(office, unit_id, {"ended_on": "2026-02-28", "version": "2"})
    assert_event(trail.event, office, "end", "member_unit", unit_id, before={"ended_on": None}, after={"ended_on": "2026-02-28"})
    # The membership it ended is in the trail too, as its own event on the conference's trail.
    assert_event(ended.event, office, "end", "membership", membership_id, conference_id=conference["id"],
                 before={"end_date": None}, after={"end_date": "2026-02-28"})


async def test_person_create_and_update_are_audited(app):
    office = await actor("office")
    person_id = await services.create_person(office, {"name": f"审计人{uid()}", "title": "副区长"})
    assert_event(await last_event("person"), office, "create", "person", person_id, before=None)
    async with Trail("person", person_id) as trail:
        await services.update_person(office, person_id, {"name": (await last_event("person"))["after"]["name"],
                                                         "title": "区长", "version": "1"})
    assert_event(trail.event, office, "update", "person", person_id, before={"title": "副区长"}, after={"title": "区长"})


async def test_membership_and_appointment_add_and_end_are_audited(app):
    office = await actor("office")
    conference = await district_conference()
    unit_id = await services.create_unit(office, {"name": f"审计单位{uid()}", "kind": "other"})
    membership_id = await services.add_membership(office, conference["id"], {"unit": str(unit_id), "start_date": "2025-03-01"})
    event = await last_event("membership")
    assert_event(event, office, "create", "membership", membership_id, conference_id=conference["id"], before=None)
    assert (event["after"]["unit"], event["after"]["start_date"], event["after"]["end_date"]) == (unit_id, "2025-03-01", None)
    async with Trail("membership", membership_id) as trail:
        await services.end_period(office, Membership, "membership", membership_id, {"end_date": "2025-09-30", "version": "1"})
    assert_event(trail.event, office, "end", "membership", membership_id, conference_id=conference["id"],
                 before={"end_date": None}, after={"end_date": "2025-09-30"})

    admin = await actor("admin")
    street_id = await services.create_street(admin, {"name": f"审计街道{uid()}", "district": "兰山区"})
    street_conference = await services.create_conference(admin, {
        "name": f"审计联席会议{uid()}", "level": "street", "parent": str(conference["id"]), "street": str(street_id)})
    person_id = await services.create_person(office, {"name": f"审计人{uid()}"})
    appointment_id = await services.add_appointment(office, street_conference, {
        "person": str(person_id), "title": "正县级", "start_date": "2025-01-01"})
    event = await last_event("convenor_appointment")
    assert_event(event, office, "create", "convenor_appointment", appointment_id, conference_id=street_conference)
    assert (event["after"]["person"], event["after"]["title"]) == (person_id, "正县级")
    async with Trail("convenor_appointment", appointment_id) as trail:
        await services.end_period(office, ConvenorAppointment, "convenor_appointment", appointment_id,
                                  {"end_date": "2025-12-31", "version": "1"})
    assert_event(trail.event, office, "end", "convenor_appointment", appointment_id, conference_id=street_conference,
                 before={"end_date": None}, after={"end_date": "2025-12-31"})


async def test_validation_error_leaves_the_trail_alone(app):
    from conference.errors import Conflict, ValidationFailed

    office = await actor("office")
    unit_id = await services.create_unit(office, {"name": f"审计单位{uid()}", "kind": "other"})
    before = len(await events("member_unit", unit_id))
    with pytest.raises(ValidationFailed):
        await services.update_unit(office, unit_id, {"name": "", "kind": "other", "version": "1"})
    with pytest.raises(Conflict):
        await services.update_unit(office, unit_id, {"name": "x" + uid(), "kind": "other", "version": "7"})
    assert len(await events("member_unit", unit_id)) == before
    assert (await MemberUnit.select(MemberUnit.version).where(MemberUnit.id == unit_id).first())["version"] == 1


async def test_account_services_are_audited_without_secrets(app):
    admin = await actor("admin")
    conference = await district_conference()
    username = f"audit{uid()}"
    user_id = await accounts.create_user(admin, {"username": username, "display_name": "审计员", "password": "pass-word-99",
                                                 "role": "office", "conference": str(conference["id"])})
    event = await last_event("user")
    assert_event(event, admin, "create", "user", user_id, before=None, conference_id=conference["id"])
    assert event["after"] == {"username": username, "role": "office", "conference": conference["id"], "street": None,
                              "unit": None, "person": None}

    async with Trail("user", user_id) as trail:
        token = await accounts.issue_api_token(admin, user_id)
    assert_event(trail.event, admin, "issue_token", "user", user_id, before=None, after=None)

    me = await actor(username)
    async with Trail("user", user_id) as trail:
        await accounts.change_password(me, {"old_password": "pass-word-99", "new_password": "pass-word-100"})
    assert_event(trail.event, me, "change_password", "user", user_id, before=None, after=None)

    password_hash = (await User.select(User.password_hash).where(User.id == user_id).first())["password_hash"]
    for event in await events("user", user_id):
        text = repr(event)
        for secret in ("pass-word-99", "pass-word-100", token, accounts.digest(token), password_hash):
            assert secret not in text


async def test_system_changes_are_audited_as_system(app):
    """The CLI and the demo loader act without an account: the trail says "system"."""
    user_id = await accounts.create_user(None, {"username": f"sys{uid()}", "password": "pass-word-99", "role": "admin"})
    assert_event(await last_event("user"), None, "create", "user", user_id, conference_id=None)


# ---------------------------------------------------------------- the /audit page


def audit_rows(response: httpx.Response) -> list[dict[str, Any]]:
    """Each row of the trail as read on the page: time, actor, action, the record (its kind, its
    title and link) and its changes as (field, before, after), before None for a new value."""
    assert response.status_code == 200
    rows = []
    for tr in html(response).select("table.audit tbody tr[data-event]"):
        cell = {td["class"][0]: td for td in tr.find_all("td")}
        link = cell["record"].find("a")
        changes = []
        for li in cell["changes"].select("ul.changes li"):
            before = li.find(class_="before")
            changes.append((li.find(class_="field").get_text(strip=True), before.get_text(strip=True) if before else None,
                            li.find(class_="after").get_text(strip=True)))
        rows.append({
            "at": cell["at"].get_text(strip=True), "datetime": cell["at"].find("time")["datetime"],
            "actor": cell["actor"].get_text(strip=True), "action": cell["action"].get_text(strip=True),
            "kind": cell["record"].find(class_="record-kind").get_text(strip=True),
            "title": (link or cell["record"].find(class_="record-title")).get_text(strip=True),
            "href": link["href"] if link else None, "changes": changes,
        })
    return rows


@pytest.fixture
async def lanshan_conference_change(app) -> dict[str, Any]:
    """A new street conference under 兰山区, created and then edited by the admin."""
    admin = await actor("admin")
    parent = await district_conference()
    street_id = await services.create_street(admin, {"name": f"审计街道{uid()}", "district": "兰山区"})
    name = f"审计联席会议{uid()}"
    conference_id = await services.create_conference(admin, {"name": name, "level": "street", "parent": str(parent["id"]),
                                                              "street": str(street_id)})
    await services.update_conference(admin, conference_id, {"name": name, "level": "street", "parent": str(parent["id"]),
                                                            "street": str(street_id), "office_email": "e@example.gov.cn",
                                                            "version": "1"})
    return {"id": conference_id, "name": name, "street_id": street_id}


async def test_audit_page_filters_by_entity_action_and_date(as_user, lanshan_conference_change):
    client = await as_user("admin")
    href = f"/registry/conferences/{lanshan_conference_change['id']}"
    rows = audit_rows(await client.get("/audit", params={"entity": "conference", "action": "update"}))
    assert rows and {r["action"] for r in rows} == {"修改"} and {r["kind"] for r in rows} == {"联席会议"}
    mine = [r for r in rows if r["href"] == href]
    assert len(mine) == 1
    assert mine[0]["title"] == lanshan_conference_change["name"]
    assert mine[0]["actor"] == "系统管理员"
    assert mine[0]["changes"] == [("办公室邮箱", "—", "e@example.gov.cn")]

    rows = audit_rows(await client.get("/audit", params={"entity": "conference", "action": "create"}))
    assert [r["href"] for r in rows].count(href) == 1
    rows = audit_rows(await client.get("/audit", params={"entity": "street", "action": "update"}))
    assert href not in [r["href"] for r in rows]
    assert {r["kind"] for r in rows} <= {"街道"}

    day = today()
    rows = audit_rows(await client.get("/audit", params={"entity": "conference", "start": day.isoformat(), "end": day.isoformat()}))
    assert href in [r["href"] for r in rows]
    tomorrow = (day + dt.timedelta(days=1)).isoformat()
    response = await client.get("/audit", params={"entity": "conference", "start": tomorrow})
    assert audit_rows(response) == []
    assert html(response).select_one("form.filters .count").get_text(strip=True) == "共 0 条"
    yesterday = (day - dt.timedelta(days=1)).isoformat()
    rows = audit_rows(await client.get("/audit", params={"entity": "conference", "end": yesterday}))
    assert href not in [r["href"] for r in rows]
    # The chosen filters stay selected on the page, and the export link carries them.
    page = html(await client.get("/audit", params={"entity": "conference", "action": "update", "start": day.isoformat()}))
    assert page.select_one("#f-entity option[selected]")["value"] == "conference"
    assert page.select_one("#f-action option[selected]")["value"] == "update"
    assert page.select_one("#f-start")["value"] == day.isoformat()
    export = urllib.parse.urlsplit(page.select_one("a#audit-xlsx")["href"])
    assert export.path == "/audit.xlsx"
    assert urllib.parse.parse_qs(export.query) == {"entity": ["conference"], "action": ["update"], "start": [day.isoformat()]}


async def test_office_sees_only_its_own_conferences_trail(as_user, lanshan_conference_change):
    href = f"/registry/conferences/{lanshan_conference_change['id']}"
    own = audit_rows(await (await as_user("office")).get("/audit", params={"entity": "conference"}))
    assert sorted(r["action"] for r in own if r["href"] == href) == ["修改", "新建"]

    other = await as_user("office_luozhuang")
    for params in ({"entity": "conference"}, {}, {"q": "系统管理员"}):
        rows = audit_rows(await other.get("/audit", params=params))
        assert lanshan_conference_change["name"] not in [r["title"] for r in rows]
    # Every conference event office_luozhuang sees belongs to its own conference.
    luozhuang = (await Conference.select(Conference.id).where(Conference.name == "罗庄街道城市基层党建联席会议").first())["id"]
    visible = await AuditEvent.select(AuditEvent.entity_id).where(
        (AuditEvent.entity == "conference") & (AuditEvent.conference_id == luozhuang))
    allowed = {f"/registry/conferences/{r['entity_id']}" for r in visible}
    rows = audit_rows(await other.get("/audit", params={"entity": "conference", "per_page": "200"}))
    assert {r["href"] for r in rows} <= allowed


async def test_office_sees_its_own_changes_to_shared_records(as_user):
    office = await actor("office")
    street_id = await services.create_street(office, {"name": f"审计街道{uid()}", "district": "兰山区"})
    href = f"/registry/streets/{street_id}"
    rows = audit_rows(await (await as_user("office")).get("/audit", params={"entity": "street"}))
    assert href in [r["href"] for r in rows]
    rows = audit_rows(await (await as_user("office_luozhuang")).get("/audit", params={"entity": "street"}))
    assert href not in [r["href"] for r in rows]


@pytest.mark.parametrize("username", ["unit", "street", "convenor"])
async def test_audit_page_is_for_offices_only(as_user, username):
    response = await (await as_user(username)).get("/audit")
    assert response.status_code == 403
    assert html(response).find("table", class_="audit") is None


def test_a_stored_change_reads_as_json_reads_it() -> None:
    """views._loads reads the before/after text with msgspec, and what msgspec refuses with json:
    the same dict as json.loads for every stored text (else {})."""
    import json
    import math

    from conference.audit import views

    texts = ['{"title": "议题", "n": 3, "ok": true, "x": null, "ids": [1, 2]}', '{"a": NaN, "b": Infinity}',
             '{"big": 123456789012345678901234567890}', '{"a": 1, "a": 2}', '{"t": "\\u4e2d\\u6587 \\ud83d\\ude00"}',
             "not json", "[1, 2]", '"text"', "", "{}", '{"nested": {"k": [{"v": 1.5e300}]}}']
    for text in texts:
        try:
            found = json.loads(text)
            expected = found if isinstance(found, dict) else {}
        except ValueError:
            expected = {}
        got = views._loads(text)
        if "NaN" in text:
            assert math.isnan(got["a"]) and got["b"] == math.inf, text
        else:
            assert got == expected and type(got) is dict, text
    assert views._loads({"already": "a dict"}) == {"already": "a dict"}  # PostgreSQL's JSONB
    assert views._loads(None) == {}
