"""The office's registry forms over HTTP: create and edit every record type, messages beside the fields
with the typed input kept, duplicates, periods, ending units and memberships, optimistic locking, and
search / sort / pages of the unit list."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from bs4 import Tag

from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.registry import services
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person, Street
from tests.conftest import field_error, field_value, html, login, make_client, post_form

LANSHAN_DISTRICT = "兰山区城市基层党建联席会议"
LANSHAN_STREET_CONF = "兰山街道城市基层党建联席会议"
SUMMARY_MESSAGE = "提交的内容有误，请按提示修改。"


def uid() -> str:
    return uuid.uuid4().hex[:8]


def created_id(response: httpx.Response, base: str) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(rf"{base}/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def summary(response: httpx.Response) -> dict[str, Any]:
    node = html(response).find(id="error-summary")
    assert node is not None, "no error summary"
    return {"message": node.find("h2").get_text(strip=True),
            "links": [a["href"] for a in node.select("a")]}


def facts(response: httpx.Response) -> dict[str, str]:
    page = html(response)
    dl = page.select_one("dl.facts")
    return {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(strip=True) for dt in dl.find_all("dt")}


async def conference_id(name: str) -> int:
    return (await Conference.select(Conference.id).where(Conference.name == name).first())["id"]


async def unit_id(name: str) -> int:
    return (await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first())["id"]


async def admin_actor() -> Any:
    return actor_from_row(await User.select(*ACTOR_COLUMNS).where(User.username == "admin").first())


@pytest.fixture
async def office(as_user) -> httpx.AsyncClient:
    return await as_user("office")


async def new_street(client: httpx.AsyncClient) -> tuple[int, str]:
    name = f"测试街道{uid()}"
    response = await post_form(client, "/registry/streets/new", {"name": name, "district": "兰山区"})
    return created_id(response, "/registry/streets"), name


async def new_unit(client: httpx.AsyncClient, **extra: str) -> tuple[int, str]:
    name = f"测试单位{uid()}"
    response = await post_form(client, "/registry/units/new", {"name": name, "kind": "department", **extra})
    return created_id(response, "/registry/units"), name


async def new_street_conference(client: httpx.AsyncClient) -> int:
    street, street_name = await new_street(client)
    response = await post_form(client, "/registry/conferences/new", {
        "name": f"{street_name}联席会议", "level": "street", "parent": str(await conference_id(LANSHAN_DISTRICT)),
        "street": str(street)})
    return created_id(response, "/registry/conferences")


# ---------------------------------------------------------------- create and edit


async def test_office_creates_and_edits_a_street(office):
    street_id, name = await new_street(office)
    response = await office.get(f"/registry/streets/{street_id}")
    assert html(response).find("h1").get_text(strip=True) == name
    assert facts(response)["所属县区"] == "兰山区"

    response = await office.get(f"/registry/streets/{street_id}/edit")
    assert field_value(response, "name") == name
    assert html(response).find("input", attrs={"name": "version"})["value"] == "1"
    response = await post_form(office, f"/registry/streets/{street_id}/edit", {
        "name": name, "district": "兰山区", "secretary_name": "钱多多", "phone": "0539-8123456", "version": "1"})
    assert created_id(response, "/registry/streets") == street_id
    row = await Street.select().where(Street.id == street_id).first()
    assert (row["secretary_name"], row["phone"], row["version"]) == ("钱多多", "0539-8123456", 2)
    assert html(await office.get(f"/registry/streets/{street_id}")).find(class_="flash").get_text(strip=True) == "已保存。"


async def test_office_creates_and_edits_a_unit(office):
    parent = await unit_id("兰山区市场监管局")
    unit, name = await new_unit(office, kind="dispatched_agency", parent_unit=str(parent), duties="第一行\n第二行",
                                liaison_name="周一", liaison_phone="13900000000", liaison_email="z1@example.gov.cn")
    response = await office.get(f"/registry/units/{unit}")
    shown = facts(response)
    assert (shown["单位类别"], shown["上级单位"], shown["联络员邮箱"]) == ("派驻机构", "兰山区市场监管局", "z1@example.gov.cn")

    response = await office.get(f"/registry/units/{unit}/edit")
    assert field_value(response, "kind") == "dispatched_agency"
    assert field_value(response, "parent_unit") == str(parent)
    assert field_value(response, "duties") == "第一行\n第二行"
    response = await post_form(office, f"/registry/units/{unit}/edit", {
        "name": name + "（改）", "kind": "department", "parent_unit": "", "duties": "新职责", "version": "1"})
    assert response.status_code == 303
    row = await MemberUnit.select().where(MemberUnit.id == unit).first()
    assert (row["name"], row["kind"], row["parent_unit"], row["duties"], row["liaison_email"]) == (
        name + "（改）", "department", None, "新职责", "")


async def test_office_creates_and_edits_a_convenor(office):
    name = f"召集人{uid()}"
    response = await post_form(office, "/registry/convenors/new", {"name": name, "title": "副区长", "phone": "13800000000"})
    person = created_id(response, "/registry/convenors")
    assert facts(await office.get(f"/registry/convenors/{person}"))["职务"] == "副区长"
    response = await post_form(office, f"/registry/convenors/{person}/edit",
                               {"name": name, "title": "区委常委", "email": "p@example.gov.cn", "version": "1"})
    assert response.status_code == 303
    row = await Person.select().where(Person.id == person).first()
    assert (row["title"], row["phone"], row["email"], row["version"]) == ("区委常委", "", "p@example.gov.cn", 2)


async def test_office_creates_and_edits_a_street_conference(office):
    conference = await new_street_conference(office)
    row = await Conference.select().where(Conference.id == conference).first()
    assert (row["level"], row["parent"]) == ("street", await conference_id(LANSHAN_DISTRICT))
    names = [a.get_text(strip=True) for a in html(await office.get("/")).select(".conference-list a")]
    assert row["name"] in names  # the new conference is in the office's scope at once

    response = await office.get(f"/registry/conferences/{conference}/edit")
    assert field_value(response, "level") == "street"
    assert field_value(response, "street") == str(row["street"])
    response = await post_form(office, f"/registry/conferences/{conference}/edit", {
        "name": row["name"], "level": "street", "parent": str(row["parent"]), "street": str(row["street"]),
        "office_email": "new@example.gov.cn", "version": "1"})
    assert response.status_code == 303
    assert (await Conference.select().where(Conference.id == conference).first())["office_email"] == "new@example.gov.cn"


async def test_office_edits_its_own_conference(office):
    """The office's own conference hangs under the city conference, which the office cannot see: saving
    its own form with the parent unchanged must still work."""
    conference = await conference_id(LANSHAN_DISTRICT)
    response = await office.get(f"/registry/conferences/{conference}/edit")
    form = html(response).find("form", class_="form")
    data = {tag["name"]: (tag.get("value") or "") for tag in form.find_all("input") if tag.get("name")}
    for select in form.find_all("select"):
        selected = select.find("option", selected=True)
        data[select["name"]] = selected["value"] if selected else ""
    old_email = data["office_email"]
    data["office_email"] = f"o{uid()}@example.gov.cn"
    data.pop("_csrf_token", None)
    try:
        response = await post_form(office, f"/registry/conferences/{conference}/edit", data)
        assert response.status_code == 303, field_error(response, "parent")
        row = await Conference.select().where(Conference.id == conference).first()
        assert row["office_email"] == data["office_email"]
        # ...but it may not move itself under another parent.
        city = row["parent"]
        data["version"] = str(row["version"])
        data["parent"] = str(await conference_id(LANSHAN_STREET_CONF))
        response = await post_form(office, f"/registry/conferences/{conference}/edit", data)
        assert response.status_code == 400
        assert (await Conference.select().where(Conference.id == conference).first())["parent"] == city
    finally:
        row = await Conference.select().where(Conference.id == conference).first()
        await Conference.update({Conference.office_email: old_email}).where(Conference.id == conference)


async def test_office_cannot_create_a_city_conference_or_pick_an_unseen_parent(office):
    response = await post_form(office, "/registry/conferences/new", {"name": f"市级{uid()}", "level": "city"})
    assert response.status_code == 400
    assert field_error(response, "parent") == "只有系统管理员可以设立市级联席会议。"
    luozhuang = await conference_id("罗庄区城市基层党建联席会议")
    street, _name = await new_street(office)
    response = await post_form(office, "/registry/conferences/new", {
        "name": f"街道级{uid()}", "level": "street", "parent": str(luozhuang), "street": str(street)})
    assert response.status_code == 400
    assert field_error(response, "parent") == "所选上级联席会议不存在。"


# ---------------------------------------------------------------- messages beside the fields, input kept


async def test_unit_form_errors_beside_fields_keep_the_typed_input(office):
    duties = "负责\n多行的职责 <b>不是标签</b>"
    response = await post_form(office, "/registry/units/new", {
        "name": "", "kind": "dispatched_agency", "duties": duties, "liaison_name": "张三",
        "liaison_email": "张三@无效", "liaison_phone": "abc"})
    assert response.status_code == 400
    assert field_error(response, "name") == "请填写单位名称。"
    assert field_error(response, "liaison_email") == "联络员邮箱格式不正确，例如 liaison@example.gov.cn。"
    assert field_error(response, "liaison_phone") == "联络员电话只能包含数字、空格和 + - ( )。"
    assert field_value(response, "kind") == "dispatched_agency"
    assert field_value(response, "duties") == duties
    assert field_value(response, "liaison_name") == "张三"
    assert field_value(response, "liaison_email") == "张三@无效"
    page = html(response)
    assert page.find(id="f-name")["aria-describedby"] == "e-name"
    assert page.find(id="f-name")["aria-invalid"] == "true"
    assert page.find(id="f-liaison_name").get("aria-invalid") is None
    assert summary(response) == {"message": SUMMARY_MESSAGE,
                                 "links": ["#f-name", "#f-liaison_phone", "#f-liaison_email"]}


async def test_street_and_convenor_and_conference_forms_show_errors(office):
    response = await post_form(office, "/registry/streets/new", {"name": "", "district": "", "phone": "电话"})
    assert response.status_code == 400
    assert field_error(response, "name") == "请填写街道名称。"
    assert field_error(response, "district") == "请填写所属县区。"
    assert field_value(response, "phone") == "电话"

    response = await post_form(office, "/registry/convenors/new", {"name": "x" * 41, "email": "nope"})
    assert response.status_code == 400
    assert field_error(response, "name") == "姓名不能超过40个字。"
    assert field_error(response, "email").startswith("电子邮箱格式不正确")
    assert field_value(response, "name") == "x" * 41

    parent = await conference_id(LANSHAN_DISTRICT)
    response = await post_form(office, "/registry/conferences/new", {"name": f"会{uid()}", "level": "street",
                                                                      "parent": str(parent), "street": ""})
    assert response.status_code == 400
    assert field_error(response, "street") == "街道级联席会议须选择所属街道。"
    assert field_value(response, "level") == "street"
    assert field_value(response, "parent") == str(parent)


async def test_duplicate_names_are_refused(office):
    for url, data, message in (
        ("/registry/streets/new", {"name": "兰山街道", "district": "兰山区"}, "已有同名街道。"),
        ("/registry/units/new", {"name": "兰山区司法局", "kind": "department"}, "已有同名成员单位。"),
        ("/registry/conferences/new", {"name": LANSHAN_STREET_CONF, "level": "district",
                                       "parent": str(await conference_id(LANSHAN_DISTRICT))}, "已有同名联席会议。"),
    ):
        response = await post_form(office, url, data)
        assert response.status_code == 400, url
        assert field_error(response, "name") == message
        assert field_value(response, "name") == data["name"]
    assert await Street.count().where(Street.name == "兰山街道") == 1

    street_id, _name = await new_street(office)
    response = await post_form(office, f"/registry/streets/{street_id}/edit",
                               {"name": "罗庄街道", "district": "兰山区", "version": "1"})
    assert response.status_code == 400
    assert field_error(response, "name") == "已有同名街道。"


# ---------------------------------------------------------------- memberships and appointments


def form_of(response: httpx.Response, action: str) -> Tag:
    form = html(response).find("form", attrs={"action": action})
    assert form is not None, action
    return form


def error_in(form: Tag, name: str) -> str | None:
    node = form.find(id=f"e-{name}")
    return node.get_text(strip=True) if node else None


def value_in(form: Tag, name: str) -> str | None:
    node = form.find(attrs={"name": name})
    if node is None:
        return None
    if node.name == "select":
        selected = node.find("option", selected=True)
        return selected["value"] if selected else None
    return node.get("value")


async def test_membership_dates_in_the_wrong_order(office):
    conference = await new_street_conference(office)
    unit, _name = await new_unit(office)
    action = f"/registry/conferences/{conference}/memberships"
    response = await post_form(office, action, {"unit": str(unit), "start_date": "2026-06-01", "end_date": "2026-01-01"})
    assert response.status_code == 400
    assert summary(response) == {"message": SUMMARY_MESSAGE, "links": ["#m-end_date"]}
    form = form_of(response, action)
    assert error_in(form, "end_date") == "结束日期不能早于开始日期。"
    assert form.find(id="m-end_date")["aria-describedby"] == "e-end_date"
    assert (value_in(form, "unit"), value_in(form, "start_date"), value_in(form, "end_date")) == (
        str(unit), "2026-06-01", "2026-01-01")
    other = form_of(response, f"/registry/conferences/{conference}/appointments")
    assert error_in(other, "end_date") is None and not value_in(other, "start_date")  # not the other form's
    assert html(response).find_all(id="e-end_date") == [form.find(id="e-end_date")]  # ids stay unique
    assert await Membership.count().where(Membership.unit == unit) == 0


async def test_appointment_dates_in_the_wrong_order(office):
    conference = await new_street_conference(office)
    response = await post_form(office, "/registry/convenors/new", {"name": f"召集人{uid()}"})
    person = created_id(response, "/registry/convenors")
    action = f"/registry/conferences/{conference}/appointments"
    response = await post_form(office, action, {"person": str(person), "title": "正县级", "start_date": "2026-06-01",
                                                "end_date": "2025-06-01"})
    assert response.status_code == 400
    form = form_of(response, action)
    assert error_in(form, "end_date") == "结束日期不能早于开始日期。"
    assert (value_in(form, "person"), value_in(form, "title"), value_in(form, "start_date"), value_in(form, "end_date")) == (
        str(person), "正县级", "2026-06-01", "2025-06-01")
    other = form_of(response, f"/registry/conferences/{conference}/memberships")
    assert error_in(other, "end_date") is None and not value_in(other, "start_date")
    assert await ConvenorAppointment.count().where(ConvenorAppointment.person == person) == 0

    # A valid appointment; a second one over the same period is refused beside the start date.
    response = await post_form(office, action, {"person": str(person), "title": "正县级", "start_date": "2026-01-01"})
    assert response.status_code == 303
    response = await post_form(office, action, {"person": str(person), "start_date": "2026-03-01"})
    assert response.status_code == 400
    assert error_in(form_of(response, action), "start_date") == "这段时间本联席会议已有召集人，请先结束现任召集人的任期。"


async def test_overlapping_membership_is_refused(office):
    conference = await new_street_conference(office)
    unit, name = await new_unit(office)
    action = f"/registry/conferences/{conference}/memberships"
    response = await post_form(office, action, {"unit": str(unit), "start_date": "2025-01-01", "end_date": "2025-12-31"})
    assert response.status_code == 303
    response = await post_form(office, action, {"unit": str(unit), "start_date": "2025-12-31"})
    assert response.status_code == 400
    assert error_in(form_of(response, action), "unit") == "该单位在这段时间已是本联席会议的成员。"
    assert value_in(form_of(response, action), "unit") == str(unit)
    response = await post_form(office, action, {"unit": str(unit), "start_date": "2026-01-01"})  # right after: fine
    assert response.status_code == 303
    assert await Membership.count().where(Membership.unit == unit) == 2
    rows = html(await office.get(f"/registry/conferences/{conference}")).find_all("a", string=name)
    assert len(rows) == 2


async def test_ending_a_unit_ends_its_open_memberships_the_same_day(office):
    unit, name = await new_unit(office)
    conferences = [await new_street_conference(office), await conference_id(LANSHAN_DISTRICT)]
    for conference in conferences:
        response = await post_form(office, f"/registry/conferences/{conference}/memberships",
                                   {"unit": str(unit), "start_date": "2025-03-01"})
        assert response.status_code == 303
    response = await post_form(office, f"/registry/conferences/{conferences[0]}/memberships",
                               {"unit": str(unit), "start_date": "2024-01-01", "end_date": "2024-12-31"})
    assert response.status_code == 303

    response = await post_form(office, f"/registry/units/{unit}/end", {"ended_on": "", "version": "1"})
    assert response.status_code == 400
    assert field_error(response, "ended_on") == "请填写撤销日期。"
    response = await post_form(office, f"/registry/units/{unit}/end", {"ended_on": "2026-03-01", "version": "1"})
    assert response.status_code == 303
    assert (await MemberUnit.select(MemberUnit.ended_on).where(MemberUnit.id == unit).first())["ended_on"].isoformat() == "2026-03-01"
    ends = sorted(r["end_date"].isoformat() for r in await Membership.select(Membership.end_date).where(Membership.unit == unit))
    assert ends == ["2024-12-31", "2026-03-01", "2026-03-01"]

    page = html(await office.get(f"/registry/units/{unit}"))
    assert page.find("h1").find(class_="badge").get_text(strip=True) == "已撤销"
    assert page.find("form", attrs={"action": f"/registry/units/{unit}/end"}) is None
    # An ended unit is no longer offered for new memberships.
    options = [o.get_text() for o in html(await office.get(f"/registry/conferences/{conferences[0]}")).select("#f-unit option")]
    assert name not in options
    response = await post_form(office, f"/registry/units/{unit}/end", {"ended_on": "2026-04-01", "version": "3"})
    assert response.status_code in (400, 409)


async def test_ending_a_membership(office):
    conference = await new_street_conference(office)
    unit, _name = await new_unit(office)
    response = await post_form(office, f"/registry/conferences/{conference}/memberships",
                               {"unit": str(unit), "start_date": "2025-05-01"})
    assert response.status_code == 303
    membership = (await Membership.select(Membership.id).where(Membership.unit == unit).first())["id"]
    action = f"/registry/memberships/{membership}/end"
    assert form_of(await office.get(f"/registry/conferences/{conference}"), action) is not None

    response = await post_form(office, action, {"end_date": "2025-04-30", "version": "1"})
    assert response.status_code == 400
    form = form_of(response, action)
    assert error_in(form, "end_date") == "结束日期不能早于开始日期。"
    assert value_in(form, "end_date") == "2025-04-30"
    assert summary(response)["links"] == [f"#me-{membership}"]

    response = await post_form(office, action, {"end_date": "2025-10-31", "version": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/registry/conferences/{conference}"
    row = await Membership.select().where(Membership.id == membership).first()
    assert (row["end_date"].isoformat(), row["version"]) == ("2025-10-31", 2)
    page = html(await office.get(f"/registry/conferences/{conference}"))
    assert page.find("form", attrs={"action": action}) is None
    response = await post_form(office, action, {"end_date": "2025-11-30", "version": "2"})
    assert response.status_code == 400
    assert "该任期已经结束。" in [li.get_text(strip=True) for li in html(response).select("#error-summary li")]


# ---------------------------------------------------------------- optimistic locking


async def test_second_editor_gets_a_conflict_and_keeps_the_typed_input(app, office):
    street_id, name = await new_street(office)
    async with make_client(app) as first, make_client(app) as second:
        for client in (first, second):
            assert (await login(client, "office")).status_code == 303
        forms = [await client.get(f"/registry/streets/{street_id}/edit") for client in (first, second)]
        versions = [html(r).find("input", attrs={"name": "version"})["value"] for r in forms]
        assert versions == ["1", "1"]
        response = await post_form(first, f"/registry/streets/{street_id}/edit", {
            "name": name, "district": "兰山区", "secretary_name": "先保存", "version": versions[0]})
        assert response.status_code == 303
        response = await post_form(second, f"/registry/streets/{street_id}/edit", {
            "name": name, "district": "兰山区", "secretary_name": "后保存", "phone": "0539-1234567", "version": versions[1]})
        assert response.status_code == 409
        assert summary(response)["message"] == "该记录已被他人修改，您看到的不是最新内容。请刷新页面，核对后重新保存。"
        assert field_value(response, "secretary_name") == "后保存"
        assert field_value(response, "phone") == "0539-1234567"
    row = await Street.select().where(Street.id == street_id).first()
    assert (row["secretary_name"], row["phone"], row["version"]) == ("先保存", "", 2)


async def test_conflict_on_ending_a_unit_with_a_stale_version(office):
    unit, _name = await new_unit(office)
    response = await post_form(office, f"/registry/units/{unit}/edit", {"name": f"改名{uid()}", "kind": "other",
                                                                        "version": "1"})
    assert response.status_code == 303
    response = await post_form(office, f"/registry/units/{unit}/end", {"ended_on": "2026-01-01", "version": "1"})
    assert response.status_code == 409
    assert (await MemberUnit.select(MemberUnit.ended_on).where(MemberUnit.id == unit).first())["ended_on"] is None


# ---------------------------------------------------------------- search, sort, pages


@pytest.fixture
async def many_units(app) -> str:
    prefix = f"批量{uid()}"
    actor = await admin_actor()
    for n in range(1, 26):
        await services.create_unit(actor, {"name": f"{prefix}-{n:02d}", "kind": "other",
                                           "liaison_name": "联络人" if n == 7 else ""})
    return prefix


def list_names(response: httpx.Response) -> list[str]:
    return [row.find("td").get_text(strip=True) for row in html(response).select("table.list tbody tr") if row.find("a")]


def pager_text(response: httpx.Response) -> str | None:
    node = html(response).select_one("nav.pager span")
    return node.get_text(strip=True) if node else None


async def test_unit_list_search_pages_and_sort(office, many_units):
    prefix = many_units
    response = await office.get("/registry/units", params={"q": prefix})
    assert response.status_code == 200
    assert html(response).select_one("form.search .count").get_text(strip=True) == "共 25 条"
    assert list_names(response) == [f"{prefix}-{n:02d}" for n in range(1, 21)]
    assert pager_text(response) == "第 1 / 2 页"
    next_link = html(response).select_one("nav.pager a[rel=next]")["href"]
    response = await office.get("/registry/units" + next_link)
    assert list_names(response) == [f"{prefix}-{n:02d}" for n in range(21, 26)]
    assert pager_text(response) == "第 2 / 2 页"
    assert html(response).select_one("nav.pager a[rel=next]") is None
    assert html(response).select_one("form.search input[name=q]")["value"] == prefix

    response = await office.get("/registry/units", params={"q": f"{prefix}-2"})
    assert list_names(response) == [f"{prefix}-{n:02d}" for n in range(20, 26)]
    assert pager_text(response) is None
    response = await office.get("/registry/units", params={"q": f"{prefix}-07"})
    assert list_names(response) == [f"{prefix}-07"]

    response = await office.get("/registry/units", params={"q": prefix, "sort": "name", "desc": "1"})
    assert list_names(response) == [f"{prefix}-{n:02d}" for n in range(25, 5, -1)]
    header = html(response).find("a", string=re.compile("^单位名称"))
    assert header.get_text(strip=True) == "单位名称 ↓"
    response = await office.get("/registry/units", params={"q": prefix, "sort": "name", "desc": "1", "page": "2"})
    assert list_names(response) == [f"{prefix}-{n:02d}" for n in range(5, 0, -1)]
    response = await office.get("/registry/units", params={"q": prefix, "per_page": "10", "page": "3"})
    assert list_names(response) == [f"{prefix}-{n:02d}" for n in range(21, 26)]


async def test_search_matches_liaison_and_treats_wildcards_as_text(office, many_units):
    response = await office.get("/registry/units", params={"q": "联络人"})
    assert f"{many_units}-07" in list_names(response)
    response = await office.get("/registry/units", params={"q": f"{many_units}%"})
    assert len(list_names(response)) == 20  # "%" is not a wildcard that matches everything else
    response = await office.get("/registry/units", params={"q": f"无此单位{uid()}"})
    assert list_names(response) == []
    assert html(response).select_one("table.list tbody td.muted").get_text(strip=True) == "没有符合条件的记录。"


async def test_office_cannot_end_a_unit_that_serves_other_conferences(database_url):
    import datetime as dt

    from conference.errors import Forbidden
    from conference.registry import services
    from conference.registry.tables import Membership
    from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, actor, conference_id, unique

    office, office_lz, admin = await actor("office"), await actor("office_luozhuang"), await actor("admin")
    unit_id = await services.create_unit(admin, {"name": unique("共用单位"), "kind": "department"})
    start = dt.date.today().isoformat()
    await services.add_membership(office, await conference_id(LANSHAN_STREET), {"unit": str(unit_id), "start_date": start})
    await services.add_membership(office_lz, await conference_id(LUOZHUANG_STREET), {"unit": str(unit_id), "start_date": start})
    with pytest.raises(Forbidden):
        await services.end_unit(office, unit_id, {"ended_on": start})
    assert await Membership.count().where((Membership.unit == unit_id) & Membership.end_date.is_null()) == 2
    await services.end_unit(admin, unit_id, {"ended_on": start})
    assert await Membership.count().where((Membership.unit == unit_id) & Membership.end_date.is_null()) == 0
