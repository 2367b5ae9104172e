"""Issue 10, items 1 and 4: shared registry records have an owner (linking one to a conference gives no
right to edit it), street conferences only for one's own district's streets, a deterministic street
conference, and control characters refused in single-line fields (pages and API alike)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from conference.accounts.services import issue_api_token
from conference.accounts.tables import User
from conference.meetings.services import street_conference
from conference.registry import services
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person, Street
from tests import dbsetup
from tests.conftest import field_error, html, make_client, post_form
from tests.factories import actor, conference_id, meeting_form

Api = Callable[[str], Awaitable[httpx.AsyncClient]]

LANSHAN_DISTRICT = "兰山区城市基层党建联席会议"
LUOZHUANG_DISTRICT = "罗庄区城市基层党建联席会议"
LANSHAN_STREET = "兰山街道城市基层党建联席会议"
LUOZHUANG_STREET = "罗庄街道城市基层党建联席会议"
FORBIDDEN = "该记录属于其他联席会议，您无权修改。"
# A past period: the link exists (as in the attack) without changing who is a member today.
PAST = {"start_date": "2020-01-01", "end_date": "2020-01-31"}
PAST_2 = {"start_date": "2020-02-01", "end_date": "2020-02-28"}


def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
async def api(app: Any) -> AsyncIterator[Api]:
    clients: dict[str, httpx.AsyncClient] = {}

    async def get(username: str) -> httpx.AsyncClient:
        if username not in clients:
            row = await User.select(User.id).where(User.username == username).first()
            client = make_client(app)
            client.headers["Authorization"] = f"Bearer {await issue_api_token(None, row['id'])}"
            clients[username] = client
        return clients[username]

    yield get
    for client in clients.values():
        await client.aclose()


async def id_of(table: Any, name: str) -> int:
    row = await table.select(table.id).where(table.name == name).first()
    assert row is not None, name
    return int(row["id"])


async def own_conference(office: httpx.AsyncClient) -> int:
    """A street conference of the 兰山 office's own (new street, so other tests' figures stay as they are)."""
    street = await office.post("/api/streets", json={"name": f"攻击街道{uid()}", "district": "兰山区"})
    assert street.status_code == 201, street.text
    created = await office.post("/api/conferences", json={
        "name": f"攻击联席会议{uid()}", "level": "street", "parent": await conference_id(LANSHAN_DISTRICT),
        "street": street.json()["id"]})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def luozhuang_unit() -> dict[str, Any]:
    """A 罗庄 unit (the issue's unit 23): owned by the 罗庄区 conference, never by 兰山."""
    row = await MemberUnit.select().where(MemberUnit.name == "罗庄区综合行政执法局").first()
    assert row is not None and row["owner_conference"] == await conference_id(LUOZHUANG_DISTRICT)
    return row


# ---------------------------------------------------------------- item 1: owners of shared records


async def test_membership_gives_no_right_to_edit_a_unit_api(api):
    office = await api("office")
    unit = await luozhuang_unit()
    lanshan = await own_conference(office)
    assert (await office.patch(f"/api/units/{unit['id']}", json={"version": unit["version"],
                                                                  "liaison_email": "evil@attacker.example"})).status_code == 403
    response = await office.post(f"/api/conferences/{lanshan}/memberships", json={"unit": unit["id"], **PAST})
    assert response.status_code == 201, response.text  # linking is allowed...
    response = await office.patch(f"/api/units/{unit['id']}", json={"version": unit["version"],
                                                                     "liaison_email": "evil@attacker.example"})
    assert response.status_code == 403, response.text  # ...editing is not
    assert response.json()["detail"] == FORBIDDEN
    assert (await office.post(f"/api/units/{unit['id']}/end", json={"ended_on": "2030-01-01",
                                                                    "version": unit["version"]})).status_code == 403
    assert await MemberUnit.select().where(MemberUnit.id == unit["id"]).first() == unit


async def test_membership_gives_no_right_to_edit_a_unit_page(as_user, api):
    office = await as_user("office")
    unit = await luozhuang_unit()
    lanshan = await own_conference(await api("office"))
    response = await post_form(office, f"/registry/conferences/{lanshan}/memberships", {"unit": str(unit["id"]), **PAST_2})
    assert response.status_code == 303, response.text
    form = {"name": unit["name"], "kind": unit["kind"], "parent_unit": "", "duties": unit["duties"],
            "liaison_email": "evil@attacker.example", "version": str(unit["version"])}
    response = await post_form(office, f"/registry/units/{unit['id']}/edit", form)
    assert response.status_code == 403
    assert html(response).find("h1").get_text(strip=True) == FORBIDDEN
    assert await MemberUnit.select().where(MemberUnit.id == unit["id"]).first() == unit


async def test_owner_office_and_admin_edit_others_do_not(api):
    office, luozhuang, admin = await api("office"), await api("office_luozhuang"), await api("admin")
    response = await office.post("/api/units", json={"name": f"归属测试{uid()}", "kind": "department"})
    assert response.status_code == 201, response.text
    unit = response.json()
    row = await MemberUnit.select(MemberUnit.owner_conference).where(MemberUnit.id == unit["id"]).first()
    assert row["owner_conference"] == await conference_id(LANSHAN_DISTRICT)
    # 罗庄 links it to its own conference: still not its record.
    own = await conference_id(LUOZHUANG_STREET)
    assert (await luozhuang.post(f"/api/conferences/{own}/memberships",
                                 json={"unit": unit["id"], **PAST})).status_code == 201
    assert (await luozhuang.patch(f"/api/units/{unit['id']}", json={"version": 1, "duties": "改"})).status_code == 403
    response = await office.patch(f"/api/units/{unit['id']}", json={"version": 1, "duties": "兰山改"})
    assert response.status_code == 200, response.text
    response = await admin.patch(f"/api/units/{unit['id']}", json={"version": 2, "duties": "管理员改"})
    assert response.status_code == 200, response.text
    # A record of the admin (no owner) is the admin's alone.
    response = await admin.post("/api/units", json={"name": f"管理员单位{uid()}", "kind": "other"})
    admin_unit = response.json()
    assert (await office.patch(f"/api/units/{admin_unit['id']}", json={"version": 1, "duties": "x"})).status_code == 403


async def test_street_conference_only_for_streets_of_ones_own_district(api, as_user):
    office = await api("office")
    luozhuang_street = await id_of(Street, "罗庄街道")
    before = await Conference.count()
    response = await office.post("/api/conferences", json={
        "name": f"夺取{uid()}", "level": "street", "parent": await conference_id(LANSHAN_DISTRICT),
        "street": luozhuang_street})
    assert response.status_code == 403, response.text
    page = await as_user("office")
    response = await post_form(page, "/registry/conferences/new", {
        "name": f"夺取{uid()}", "level": "street", "parent": str(await conference_id(LANSHAN_DISTRICT)),
        "street": str(luozhuang_street), "office_email": ""})
    assert response.status_code == 403
    assert await Conference.count() == before
    # Nor can an existing street conference be moved onto that street.
    own_street = (await office.post("/api/streets", json={"name": f"本区街道{uid()}", "district": "兰山区"})).json()
    created = await office.post("/api/conferences", json={
        "name": f"本区{uid()}", "level": "street", "parent": await conference_id(LANSHAN_DISTRICT),
        "street": own_street["id"]})
    assert created.status_code == 201, created.text
    response = await office.patch(f"/api/conferences/{created.json()['id']}", json={"version": 1, "street": luozhuang_street})
    assert response.status_code == 403
    # ...and the street itself stays 罗庄's.
    street = await Street.select().where(Street.id == luozhuang_street).first()
    assert (await office.patch(f"/api/streets/{luozhuang_street}", json={"version": street["version"],
                                                                         "phone": "0539-6666666"})).status_code == 403
    # street_luozhuang sees only its own conference.
    street_client = await as_user("street_luozhuang")
    assert (await street_client.get("/")).status_code == 200
    assert await Conference.count().where(Conference.street == luozhuang_street) == 1


async def test_appointment_gives_no_right_to_edit_a_convenor(api, as_user):
    office = await api("office")
    person = await Person.select().where(Person.name == "李红梅").first()
    lanshan = await own_conference(office)
    response = await office.post(f"/api/conferences/{lanshan}/appointments",
                                 json={"person": person["id"], "title": "副县级", **PAST})
    assert response.status_code == 201, response.text
    response = await office.patch(f"/api/convenors/{person['id']}", json={"version": person["version"],
                                                                           "email": "evil@attacker.example"})
    assert response.status_code == 403, response.text
    page = await as_user("office")
    response = await post_form(page, f"/registry/convenors/{person['id']}/edit", {
        "name": person["name"], "title": person["title"], "phone": person["phone"], "email": "evil@attacker.example",
        "version": str(person["version"])})
    assert response.status_code == 403
    assert await Person.select().where(Person.id == person["id"]).first() == person


async def test_street_conference_is_chosen_deterministically(database_url):
    admin = await actor("admin")
    street_id = await services.create_street(admin, {"name": f"两会街道{uid()}", "district": "兰山区"})
    parent = str(await conference_id(LANSHAN_DISTRICT))
    first = await services.create_conference(admin, {"name": f"甲{uid()}", "level": "street", "parent": parent,
                                                     "street": str(street_id)})
    second = await services.create_conference(admin, {"name": f"乙{uid()}", "level": "street", "parent": parent,
                                                      "street": str(street_id)})
    assert first < second
    for _i in range(3):
        assert await street_conference(street_id) == first
    person = await services.create_person(admin, {"name": f"召集{uid()}"})
    await services.add_appointment(admin, second, {"person": str(person), "start_date": "2025-01-01"})
    assert await street_conference(street_id) == second  # the one with a serving convenor


async def test_migration_fills_owners_from_the_first_link(database_url):
    """The backfill (migrations/...t10_01...) gives an unowned unit the district conference above
    the street conference that first had it; a unit linked nowhere its parent unit's owner, a street
    linked nowhere the owner of its district's streets; the rest stay the admin's."""
    admin = await actor("admin")
    parent = await id_of(MemberUnit, "罗庄区市场监管局")
    child = await services.create_unit(admin, {"name": f"迁移下级{uid()}", "kind": "dispatched_agency",
                                               "parent_unit": str(parent)})
    lone = await services.create_unit(admin, {"name": f"迁移孤立{uid()}", "kind": "other"})
    street = await services.create_street(admin, {"name": f"迁移街道{uid()}", "district": "罗庄区"})
    far_street = await services.create_street(admin, {"name": f"远方街道{uid()}", "district": f"无主区{uid()}"})
    unit_id = await services.create_unit(admin, {"name": f"迁移单位{uid()}", "kind": "department"})
    # Fresh street conferences (under 罗庄区, then 兰山区), so that no demo conference gains members.
    first_links = []
    for district, parent_name in (("罗庄区", LUOZHUANG_DISTRICT), ("兰山区", LANSHAN_DISTRICT)):
        street_id = await services.create_street(admin, {"name": f"迁移联席街道{uid()}", "district": district})
        first_links.append(await services.create_conference(admin, {
            "name": f"迁移联席会议{uid()}", "level": "street", "parent": str(await conference_id(parent_name)),
            "street": str(street_id)}))
    await services.add_membership(admin, first_links[0], {"unit": str(unit_id), **PAST})
    await services.add_membership(admin, first_links[1],
                                  {"unit": str(unit_id), "start_date": "2021-01-01", "end_date": "2021-01-31"})
    await dbsetup.run_raw_steps("conference_2026_12_03t10_01_00_000000")
    luozhuang = await conference_id(LUOZHUANG_DISTRICT)
    owners = {r["id"]: r["owner_conference"] for r in await MemberUnit.select(MemberUnit.id, MemberUnit.owner_conference)
              .where(MemberUnit.id.is_in([unit_id, child, lone]))}
    assert owners == {unit_id: luozhuang, child: luozhuang, lone: None}
    streets = {r["id"]: r["owner_conference"] for r in await Street.select(Street.id, Street.owner_conference)
               .where(Street.id.is_in([street, far_street]))}
    assert streets == {street: luozhuang, far_street: None}
    assert await Membership.count().where(Membership.unit == unit_id) == 2
    assert await ConvenorAppointment.count() > 0


# ---------------------------------------------------------------- item 4: control characters


ONE_LINE = "单位名称只能填写一行。"
CONTROLS = "单位名称不能包含制表符或不可见的控制字符。"
BAD_SINGLE_LINE = {"会议\r\n名称": ONE_LINE, "会议\n名称": ONE_LINE, "名称\u2028": ONE_LINE, "会议\t名称": CONTROLS,
                   "名称\u202egnp.exe": CONTROLS, "名称\u200b": CONTROLS, "名称\x1b[31m": CONTROLS}


async def test_single_line_fields_refuse_control_characters_api(api):
    office = await api("office")
    for bad, message in BAD_SINGLE_LINE.items():
        response = await office.post("/api/units", json={"name": f"{bad}{uid()}", "kind": "department"})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["errors"]["name"] == message
    response = await office.post("/api/units", json={"name": f"好单位{uid()}", "kind": "department",
                                                     "liaison_email": "a@example.com\r\nBcc: x@evil.example"})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"liaison_email"}
    # Multi-line fields keep their line breaks, but not a direction override.
    response = await office.post("/api/units", json={"name": f"多行{uid()}", "kind": "department",
                                                     "duties": "第一条\r\n第二条\n\t第三条"})
    assert response.status_code == 201, response.text
    response = await office.post("/api/units", json={"name": f"多行{uid()}", "kind": "department",
                                                     "duties": "职责\u202e反转"})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"duties"}
    lanshan = await conference_id(LANSHAN_STREET)
    response = await office.post("/api/meetings", json={**meeting_form(title="全体会议\r\nBcc: evil@attacker.example"),
                                                        "conference": lanshan})
    assert response.status_code == 400, response.text
    assert "title" in response.json()["errors"]


async def test_single_line_fields_refuse_control_characters_page(as_user):
    office = await as_user("office")
    lanshan = await conference_id(LANSHAN_STREET)
    response = await post_form(office, "/meetings/new", {**meeting_form(title="全体会议\r\n第二行"),
                                                         "conference": str(lanshan)})
    assert response.status_code == 400, response.status_code
    assert field_error(response, "title") == "会议名称只能填写一行。"
    response = await post_form(office, "/registry/units/new", {"name": f"单位\u202e{uid()}", "kind": "department"})
    assert field_error(response, "name") == CONTROLS
    response = await post_form(office, "/registry/convenors/new", {"name": "张三", "phone": "139\n0539"})
    assert field_error(response, "phone") == "联系电话只能填写一行。"
