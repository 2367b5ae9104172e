"""The registry JSON API: Bearer-token authentication, role and conference scope, list/search/pages,
create and PATCH with Chinese per-field errors (never a 500), optimistic locking, and the OpenAPI
document and its offline Swagger page."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from conference.accounts.services import issue_api_token
from conference.accounts.tables import User
from conference.registry.tables import Conference, MemberUnit, Person, Street
from tests.conftest import html, make_client

Api = Callable[[str], Awaitable[httpx.AsyncClient]]

STALE = "该记录已被他人修改，您看到的不是最新内容。请刷新页面，核对后重新保存。"
LANSHAN_DISTRICT = "兰山区城市基层党建联席会议"
LANSHAN = "兰山街道城市基层党建联席会议"
YINQUESHAN = "银雀山街道城市基层党建联席会议"
LUOZHUANG = "罗庄街道城市基层党建联席会议"
CITY = "临沂市城市基层党建联席会议"


def uid() -> str:
    return uuid.uuid4().hex[:8]


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def id_of(table: Any, name: str) -> int:
    row = await table.select(table.id).where(table.name == name).first()
    assert row is not None, name
    return int(row["id"])


@pytest.fixture
async def api(app: Any) -> AsyncIterator[Api]:
    """`await api("office")` -> a client sending a fresh API token of that demo account (and no cookie).
    Tokens are issued per test: other tests may replace an account's token at any time."""
    clients: dict[str, httpx.AsyncClient] = {}

    async def get(username: str) -> httpx.AsyncClient:
        if username not in clients:
            row = await User.select(User.id).where(User.username == username).first()
            token = await issue_api_token(None, row["id"])
            client = make_client(app)
            client.headers["Authorization"] = f"Bearer {token}"
            clients[username] = client
        return clients[username]

    yield get
    for client in clients.values():
        await client.aclose()


@pytest.fixture
async def anon_api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as client:
        yield client


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert is_chinese(body["detail"]), body
    for message in (body.get("errors") or {}).values():
        assert is_chinese(message), body
    return body


async def new_street(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/api/streets", json={"name": f"测试街道{uid()}", "district": "兰山区"})
    assert response.status_code == 201, response.text
    return response.json()


async def new_street_conference(client: httpx.AsyncClient, parent: str = LANSHAN_DISTRICT) -> dict[str, Any]:
    street = await new_street(client)
    response = await client.post("/api/conferences", json={
        "name": f"{street['name']}联席会议", "level": "street", "parent": await id_of(Conference, parent),
        "street": street["id"], "office_email": "lxhy@example.gov.cn"})
    assert response.status_code == 201, response.text
    return response.json()


async def new_unit(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/units", json={"name": f"测试单位{uid()}", "kind": "department", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def new_person(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/api/convenors", json={"name": f"测试{uid()}", "title": "副区长"})
    assert response.status_code == 201, response.text
    return response.json()


# ---------------------------------------------------------------- authentication


async def test_api_needs_a_bearer_token(anon_api):
    for headers in ({}, {"Authorization": "Bearer lx_not-a-real-token"}, {"Authorization": "Bearer "},
                    {"Authorization": "Basic YWRtaW46ZGVtbzEyMzQ1"}, {"Authorization": "lx_not-a-real-token"}):
        for url in ("/api/me", "/api/units", "/api/conferences/1"):
            response = await anon_api.get(url, headers=headers)
            assert assert_error(response, 401)["detail"] == "请先登录。"
    response = await anon_api.post("/api/units", json={"name": f"未登录{uid()}", "kind": "other"})
    assert_error(response, 401)
    assert not await MemberUnit.exists().where(MemberUnit.name.like("未登录%"))


async def test_session_cookie_alone_does_not_authenticate_the_api(as_user):
    client = await as_user("admin")
    assert (await client.get("/")).status_code == 200  # the cookie is a valid session for pages
    for url in ("/api/me", "/api/units"):
        assert_error(await client.get(url), 401)
    response = await client.post("/api/units", json={"name": f"借会话{uid()}", "kind": "other"},
                                 headers={"X-CSRFToken": client.cookies.get("csrftoken", "")})
    assert_error(response, 401)


async def test_a_replaced_token_stops_working(app, api):
    client = await api("office")
    assert (await client.get("/api/me")).status_code == 200
    row = await User.select(User.id).where(User.username == "office").first()
    await issue_api_token(None, row["id"])
    assert_error(await client.get("/api/me"), 401)


async def test_me_returns_the_caller_and_its_scope(api):
    expected = {
        "admin": {"role": "admin"},
        "office": {"role": "office", "conference_id": await id_of(Conference, LANSHAN_DISTRICT)},
        "office_luozhuang": {"role": "office", "conference_id": await id_of(Conference, LUOZHUANG)},
        "convenor": {"role": "convenor", "person_id": await id_of(Person, "王建国")},
        "street": {"role": "street", "street_id": await id_of(Street, "兰山街道")},
        "unit": {"role": "unit", "unit_id": await id_of(MemberUnit, "兰山区市场监管局")},
    }
    for username, fields in expected.items():
        response = await (await api(username)).get("/api/me")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["username"] == username
        links = {"conference_id": None, "street_id": None, "unit_id": None, "person_id": None}
        assert {k: body[k] for k in ("role", *links)} == {**links, **fields}


# ---------------------------------------------------------------- roles and scope


REGISTRY_READS = ["/api/streets", "/api/streets/1", "/api/units", "/api/units/1", "/api/convenors", "/api/convenors/1",
                  "/api/conferences", "/api/conferences/1", "/api/memberships", "/api/memberships/1",
                  "/api/appointments", "/api/appointments/1"]
REGISTRY_WRITES = [
    ("POST", "/api/streets"), ("PATCH", "/api/streets/1"), ("POST", "/api/units"), ("PATCH", "/api/units/1"),
    ("POST", "/api/units/1/end"), ("POST", "/api/convenors"), ("PATCH", "/api/convenors/1"),
    ("POST", "/api/conferences"), ("PATCH", "/api/conferences/1"), ("POST", "/api/conferences/1/memberships"),
    ("POST", "/api/conferences/1/appointments"), ("POST", "/api/memberships/1/end"),
    ("POST", "/api/appointments/1/end"),
]


@pytest.mark.parametrize("username", ["street", "unit"])
async def test_street_and_unit_roles_are_refused_the_registry(api, username):
    client = await api(username)
    for url in REGISTRY_READS:
        assert_error(await client.get(url), 403)
    for method, url in REGISTRY_WRITES:
        assert_error(await client.request(method, url, json={"version": 1, "name": "x"}), 403)
    assert (await client.get("/api/me")).status_code == 200


async def test_convenor_reads_only_the_conferences_it_convenes(api):
    client = await api("convenor")
    lanshan, luozhuang = await id_of(Conference, LANSHAN), await id_of(Conference, LUOZHUANG)
    response = await client.get("/api/conferences")
    assert [c["name"] for c in response.json()["items"]] == [LANSHAN]
    assert (await client.get(f"/api/conferences/{lanshan}")).json()["name"] == LANSHAN
    assert_error(await client.get(f"/api/conferences/{luozhuang}"), 404)
    members = (await client.get("/api/memberships", params={"per_page": 200})).json()
    assert members["total"] > 0 and {m["conference"] for m in members["items"]} == {lanshan}
    # Other tests may appoint further convenors to 兰山; what matters is that none is elsewhere.
    appointments = (await client.get("/api/appointments", params={"per_page": 200})).json()["items"]
    assert ("王建国", lanshan) in [(a["person_name"], a["conference"]) for a in appointments]
    assert {a["conference"] for a in appointments} == {lanshan}
    assert (await client.get(f"/api/memberships?conference={luozhuang}")).json()["total"] == 0
    for url in ("/api/units", "/api/streets", "/api/convenors"):
        assert_error(await client.get(url), 403)
    for method, url in REGISTRY_WRITES:
        assert_error(await client.request(method, url, json={}), 403)


async def test_office_sees_its_conference_and_those_below(api):
    client = await api("office")
    names = [c["name"] for c in (await client.get("/api/conferences", params={"per_page": 200})).json()["items"]]
    assert {LANSHAN_DISTRICT, LANSHAN, YINQUESHAN} <= set(names)
    assert LUOZHUANG not in names and CITY not in names
    assert_error(await client.get(f"/api/conferences/{await id_of(Conference, LUOZHUANG)}"), 404)
    assert_error(await client.get(f"/api/conferences/{await id_of(Conference, CITY)}"), 404)


async def test_other_office_gets_404_for_lanshan_records(api):
    client = await api("office_luozhuang")
    lanshan = await id_of(Conference, LANSHAN)
    body = assert_error(await client.get(f"/api/conferences/{lanshan}"), 404)
    assert "无权" in body["detail"]
    assert_error(await client.get(f"/api/conferences/{await id_of(Conference, LANSHAN_DISTRICT)}"), 404)
    assert_error(await client.patch(f"/api/conferences/{lanshan}", json={"version": 1, "office_email": "x@example.com"}), 404)
    assert_error(await client.post(f"/api/conferences/{lanshan}/memberships",
                                   json={"unit": 1, "start_date": "2026-01-01"}), 404)
    names = [c["name"] for c in (await client.get("/api/conferences")).json()["items"]]
    assert LUOZHUANG in names and LANSHAN not in names
    # Memberships and appointments: lists only show 罗庄; a 兰山 one by id is 404, and cannot be ended.
    luozhuang = await id_of(Conference, LUOZHUANG)
    members = (await client.get("/api/memberships", params={"per_page": 200})).json()
    assert members["total"] > 0 and {m["conference"] for m in members["items"]} == {luozhuang}
    assert (await client.get("/api/memberships", params={"conference": lanshan})).json()["total"] == 0
    appointments = (await client.get("/api/appointments")).json()["items"]
    assert {a["conference"] for a in appointments} == {luozhuang}
    admin = await api("admin")
    lanshan_members = (await admin.get("/api/memberships", params={"conference": lanshan})).json()["items"]
    lanshan_appointments = (await admin.get("/api/appointments", params={"conference": lanshan})).json()["items"]
    assert lanshan_members and lanshan_appointments
    assert_error(await client.get(f"/api/memberships/{lanshan_members[0]['id']}"), 404)
    assert_error(await client.get(f"/api/appointments/{lanshan_appointments[0]['id']}"), 404)
    assert_error(await client.post(f"/api/memberships/{lanshan_members[0]['id']}/end", json={"end_date": "2099-01-01"}), 404)
    assert_error(await client.post(f"/api/appointments/{lanshan_appointments[0]['id']}/end",
                                   json={"end_date": "2099-01-01"}), 404)
    row = await admin.get(f"/api/memberships/{lanshan_members[0]['id']}")
    assert row.json()["end_date"] == lanshan_members[0]["end_date"]


async def test_missing_and_out_of_range_ids(api):
    client = await api("admin")
    for url in ("/api/units/2147483647", "/api/streets/2147483647", "/api/convenors/2147483647",
                "/api/conferences/2147483647", "/api/memberships/2147483647", "/api/appointments/2147483647"):
        assert_error(await client.get(url), 404)
    for url in ("/api/units/0", "/api/units/99999999999999", "/api/conferences/-1"):
        response = await client.get(url)
        assert response.status_code in (400, 404), response.text
        assert_error(response, response.status_code)
    assert_error(await client.patch("/api/units/2147483647", json={"version": 1}), 404)
    assert_error(await client.post("/api/units/2147483647/end", json={"ended_on": "2026-01-01"}), 404)


# ---------------------------------------------------------------- lists


async def test_list_search_sort_and_pages(api):
    client = await api("office")
    tag = uid()
    for n in range(5):
        await new_unit(client, name=f"翻页单位{tag}-{n}", liaison_name=f"联络{tag}")
    first = (await client.get("/api/units", params={"q": f"翻页单位{tag}", "per_page": 2})).json()
    assert set(first) == {"items", "total", "page", "per_page"}
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    assert [u["name"] for u in first["items"]] == [f"翻页单位{tag}-0", f"翻页单位{tag}-1"]
    third = (await client.get("/api/units", params={"q": f"翻页单位{tag}", "per_page": 2, "page": 3})).json()
    assert [u["name"] for u in third["items"]] == [f"翻页单位{tag}-4"]
    beyond = (await client.get("/api/units", params={"q": f"翻页单位{tag}", "per_page": 2, "page": 99})).json()
    assert beyond["page"] == 3
    backwards = (await client.get("/api/units", params={"q": f"翻页单位{tag}", "sort": "name", "desc": "true"})).json()
    assert [u["name"] for u in backwards["items"]] == [f"翻页单位{tag}-{n}" for n in (4, 3, 2, 1, 0)]
    by_liaison = (await client.get("/api/units", params={"q": f"联络{tag}"})).json()
    assert by_liaison["total"] == 5
    # Wildcards, NUL and quotes in a search are never a server error.
    for q in ("%", "_", "\x00", "'; drop table member_unit; --"):
        response = await client.get("/api/units", params={"q": q})
        assert response.status_code == 200, response.text
    # Other lists answer the same shape.
    for url in ("/api/streets", "/api/convenors", "/api/conferences", "/api/memberships", "/api/appointments"):
        body = (await client.get(url, params={"per_page": 1})).json()
        assert set(body) == {"items", "total", "page", "per_page"} and len(body["items"]) == 1, url
    streets = (await client.get("/api/streets", params={"q": "银雀山"})).json()
    assert [s["name"] for s in streets["items"]] == ["银雀山街道"]
    members = (await client.get("/api/memberships", params={"q": "派出所", "per_page": 200})).json()
    assert members["items"] and all("派出所" in m["unit_name"] for m in members["items"])


async def test_bad_list_parameters_answer_400_in_chinese(api):
    client = await api("office")
    for params, field in (({"page": "abc"}, "page"), ({"page": 0}, "page"), ({"per_page": 0}, "per_page"),
                          ({"per_page": 201}, "per_page"), ({"sort": "password"}, "sort"), ({"desc": "maybe"}, "desc")):
        body = assert_error(await client.get("/api/units", params=params), 400)
        assert field in body["errors"], body
    body = assert_error(await client.get("/api/memberships", params={"conference": "x"}), 400)
    assert body["errors"] == {"conference": "联席会议应为整数。"}


# ---------------------------------------------------------------- create and validation


async def test_create_unit_returns_201_and_the_record(api):
    client = await api("office")
    name = f"测试市场监管所{uid()}"
    parent = await new_unit(client)
    response = await client.post("/api/units", json={
        "name": f"  {name} ", "kind": "dispatched_agency", "parent_unit": parent["id"], "duties": "日常监管",
        "liaison_name": "张三", "liaison_phone": "0539-1234567", "liaison_email": "zs@example.gov.cn"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == name and body["kind"] == "dispatched_agency" and body["parent_unit"] == parent["id"]
    assert body["version"] == 1 and body["ended_on"] is None and body["leader_name"] == ""
    assert (await client.get(f"/api/units/{body['id']}")).json() == body


async def test_create_validation_errors_are_chinese_per_field(api):
    client = await api("office")
    body = assert_error(await client.post("/api/units", json={}), 400)
    assert body["errors"] == {"name": "请填写单位名称。", "kind": "请选择单位类别。"}
    body = assert_error(await client.post("/api/units", json={"name": "x" * 101, "kind": "bogus",
                                                              "liaison_email": "not-an-email",
                                                              "liaison_phone": "call me", "parent_unit": 2147483647}), 400)
    assert body["errors"]["name"] == "单位名称不能超过100个字。"
    assert body["errors"]["kind"] == "请从列表中选择单位类别。"
    assert set(body["errors"]) == {"name", "kind", "liaison_email", "liaison_phone", "parent_unit"}
    body = assert_error(await client.post("/api/units", json={"name": "兰山区市场监管局", "kind": "department"}), 400)
    assert body["errors"] == {"name": "已有同名成员单位。"}
    body = assert_error(await client.post("/api/units", json={"name": "测试\x00单位", "kind": "department"}), 400)
    assert body["errors"] == {"name": "单位名称含有不允许的字符。"}
    body = assert_error(await client.post("/api/units", json={"name": "长" * 200_000, "kind": "department"}), 400)
    assert body["errors"] == {"name": "单位名称不能超过100个字。"}
    body = assert_error(await client.post("/api/streets", json={"name": "兰山街道", "district": ""}), 400)
    assert body["errors"] == {"name": "已有同名街道。", "district": "请填写所属县区。"}
    body = assert_error(await client.post("/api/convenors", json={"name": "", "email": "x@"}), 400)
    assert set(body["errors"]) == {"name", "email"}


async def test_wrong_json_types_answer_400_never_500(api):
    client = await api("office")
    cases = [
        ("/api/units", {"name": 5, "kind": "department"}, {"name": "名称应为文本。"}),
        ("/api/units", {"name": f"类型{uid()}", "kind": ["department"]}, {"kind": "单位类别应为文本。"}),
        *[("/api/units", {"name": f"类型{uid()}", "kind": "department", "parent_unit": bad},
           {"parent_unit": "上级单位应为整数。"}) for bad in ("abc", True, 1.5, [1])],
        ("/api/units", {"name": {"zh": "x"}, "kind": "department"}, {"name": "名称应为文本。"}),
        ("/api/units", {"name": f"类型{uid()}", "nmae": "typo"}, {"nmae": "不支持字段“nmae”。"}),
        ("/api/conferences", {"name": f"类型{uid()}", "level": "street", "parent": "二"}, {"parent": "上级联席会议应为整数。"}),
        ("/api/conferences/1/memberships", {"unit": 1, "start_date": "2026-13-45"},
         {"start_date": "开始日期不是有效日期，请按 2026-11-29 的格式填写。"}),
        ("/api/conferences/1/memberships", {"unit": 1, "start_date": 20260101},
         {"start_date": "开始日期应为日期（如 2026-11-29）。"}),
        ("/api/conferences/1/appointments", {"person": 1, "start_date": "2026-01-01", "title": 3}, {"title": "职务应为文本。"}),
        ("/api/units/1/end", {"ended_on": "yesterday"}, {"ended_on": "撤销日期不是有效日期，请按 2026-11-29 的格式填写。"}),
        ("/api/memberships/1/end", {"end_date": "2026-01-01", "version": "one"}, {"version": "版本应为整数。"}),
    ]
    for url, payload, errors in cases:
        body = assert_error(await client.post(url, json=payload), 400)
        assert body.get("errors") == errors, (url, payload, body)
    for content in (b"", b"[1, 2]", b'"text"', b"null", b"42"):
        body = assert_error(await client.post("/api/units", content=content, headers={"Content-Type": "application/json"}), 400)
        assert body["detail"] == "请求内容应为 JSON 对象。", (content, body)
    lone_surrogate = '{"name": "\ud800"}'.encode("utf-8", "surrogatepass")
    for content in (b"{bad json", b'{"name": "x",}', b'{"name": "\xff"}', lone_surrogate):
        assert_error(await client.post("/api/units", content=content, headers={"Content-Type": "application/json"}), 400)
    assert_error(await client.patch("/api/units/1", json={"version": 1, "duties": 7}), 400)


async def test_conference_rules_are_enforced(api):
    office = await api("office")
    body = assert_error(await office.post("/api/conferences", json={"name": f"市级{uid()}", "level": "city"}), 400)
    assert body["errors"] == {"parent": "只有系统管理员可以设立市级联席会议。"}
    body = assert_error(await office.post("/api/conferences", json={
        "name": f"街道级{uid()}", "level": "street", "parent": await id_of(Conference, LANSHAN_DISTRICT)}), 400)
    assert body["errors"] == {"street": "街道级联席会议须选择所属街道。"}
    # A parent outside the office's scope is reported as missing, never used.
    body = assert_error(await office.post("/api/conferences", json={
        "name": f"越权{uid()}", "level": "street", "parent": await id_of(Conference, "罗庄区城市基层党建联席会议"),
        "street": await id_of(Street, "盛庄街道")}), 400)
    assert body["errors"] == {"parent": "所选上级联席会议不存在。"}
    created = await new_street_conference(office)
    assert created["level"] == "street" and created["parent"] == await id_of(Conference, LANSHAN_DISTRICT)
    listed = (await office.get("/api/conferences", params={"per_page": 200})).json()["items"]
    assert created["name"] in [c["name"] for c in listed]
    other = await api("office_luozhuang")
    assert_error(await other.get(f"/api/conferences/{created['id']}"), 404)
    body = assert_error(await office.post("/api/conferences", json={
        "name": created["name"], "level": "street", "parent": created["parent"], "street": created["street"]}), 400)
    assert body["errors"] == {"name": "已有同名联席会议。"}


# ---------------------------------------------------------------- PATCH and optimistic locking


async def test_patch_changes_only_given_fields_and_rejects_a_stale_version(api):
    client = await api("office")
    unit = await new_unit(client, liaison_name="李四", duties="原职责", liaison_email="ls@example.gov.cn")
    response = await client.patch(f"/api/units/{unit['id']}", json={"version": 1, "liaison_name": "王五"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["liaison_name"] == "王五" and updated["version"] == 2
    assert {k: updated[k] for k in ("name", "kind", "duties", "liaison_email")} == \
        {k: unit[k] for k in ("name", "kind", "duties", "liaison_email")}
    # Someone else saved version 2 meanwhile: a client still holding version 1 is refused.
    body = assert_error(await client.patch(f"/api/units/{unit['id']}", json={"version": 1, "duties": "覆盖"}), 409)
    assert body["detail"] == STALE
    assert (await client.get(f"/api/units/{unit['id']}")).json()["duties"] == "原职责"
    body = assert_error(await client.patch(f"/api/units/{unit['id']}", json={"duties": "无版本"}), 400)
    assert body["errors"] == {"version": "请填写版本。"}
    # null clears an optional field; a required one cannot be cleared.
    response = await client.patch(f"/api/units/{unit['id']}", json={"version": 2, "liaison_email": None})
    assert response.status_code == 200 and response.json()["liaison_email"] == ""
    body = assert_error(await client.patch(f"/api/units/{unit['id']}", json={"version": 3, "name": None}), 400)
    assert body["errors"] == {"name": "请填写单位名称。"}
    # Validation applies to PATCH as to create.
    body = assert_error(await client.patch(f"/api/units/{unit['id']}", json={"version": 3, "name": "兰山区市场监管局"}), 400)
    assert body["errors"] == {"name": "已有同名成员单位。"}
    body = assert_error(await client.patch(f"/api/units/{unit['id']}", json={"version": 3, "parent_unit": unit["id"]}), 400)
    assert body["errors"] == {"parent_unit": "上级单位不能是本单位。"}


async def test_patch_streets_convenors_and_conferences(api):
    client = await api("office")
    street = await new_street(client)
    response = await client.patch(f"/api/streets/{street['id']}", json={"version": 1, "secretary_name": "赵六"})
    assert response.status_code == 200 and response.json()["secretary_name"] == "赵六"
    assert response.json()["name"] == street["name"]
    assert_error(await client.patch(f"/api/streets/{street['id']}", json={"version": 1, "phone": "0539-1"}), 409)
    person = await new_person(client)
    response = await client.patch(f"/api/convenors/{person['id']}", json={"version": 1, "phone": "13900000000"})
    assert response.status_code == 200 and response.json()["title"] == "副区长"
    assert_error(await client.patch(f"/api/convenors/{person['id']}", json={"version": 9, "phone": "13900000001"}), 409)
    conference = await new_street_conference(client)
    response = await client.patch(f"/api/conferences/{conference['id']}",
                                  json={"version": 1, "office_email": "new@example.gov.cn"})
    assert response.status_code == 200, response.text
    assert response.json()["office_email"] == "new@example.gov.cn" and response.json()["street"] == conference["street"]
    body = assert_error(await client.patch(f"/api/conferences/{conference['id']}",
                                           json={"version": 1, "office_email": "old@example.gov.cn"}), 409)
    assert body["detail"] == STALE
    body = assert_error(await client.patch(f"/api/conferences/{conference['id']}",
                                           json={"version": 2, "office_email": "bad"}), 400)
    assert set(body["errors"]) == {"office_email"}
    # Streets linked to another office's conference are not this office's to edit.
    luozhuang_street = await id_of(Street, "罗庄街道")
    assert_error(await client.patch(f"/api/streets/{luozhuang_street}", json={"version": 1, "phone": "0539-7777777"}), 403)


# ---------------------------------------------------------------- memberships, appointments, ending


async def test_memberships_add_overlap_and_end(api):
    client = await api("office")
    conference = await new_street_conference(client)
    unit = await new_unit(client)
    url = f"/api/conferences/{conference['id']}/memberships"
    body = assert_error(await client.post(url, json={"unit": unit["id"], "start_date": "2026-03-01",
                                                     "end_date": "2026-02-01"}), 400)
    assert body["errors"] == {"end_date": "结束日期不能早于开始日期。"}
    body = assert_error(await client.post(url, json={}), 400)
    assert body["errors"] == {"unit": "请选择成员单位。", "start_date": "请填写开始日期。"}
    body = assert_error(await client.post(url, json={"unit": 2147483647, "start_date": "2026-01-01"}), 400)
    assert body["errors"] == {"unit": "所选成员单位不存在。"}
    response = await client.post(url, json={"unit": unit["id"], "start_date": "2026-01-01"})
    assert response.status_code == 201, response.text
    membership = response.json()
    assert membership["unit_name"] == unit["name"] and membership["conference"] == conference["id"]
    assert membership["start_date"] == "2026-01-01" and membership["end_date"] is None
    body = assert_error(await client.post(url, json={"unit": unit["id"], "start_date": "2026-06-01"}), 400)
    assert body["errors"] == {"unit": "该单位在这段时间已是本联席会议的成员。"}
    listed = (await client.get("/api/memberships", params={"conference": conference["id"]})).json()
    assert [m["id"] for m in listed["items"]] == [membership["id"]]
    end_url = f"/api/memberships/{membership['id']}/end"
    body = assert_error(await client.post(end_url, json={"end_date": "2025-12-31"}), 400)
    assert body["errors"] == {"end_date": "结束日期不能早于开始日期。"}
    assert_error(await client.post(end_url, json={"end_date": "2026-06-30", "version": 5}), 409)
    response = await client.post(end_url, json={"end_date": "2026-06-30", "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["end_date"] == "2026-06-30" and response.json()["version"] == 2
    # The convenor of 兰山街道 does not see this conference's memberships.
    convenor = await api("convenor")
    assert_error(await convenor.get(f"/api/memberships/{membership['id']}"), 404)


async def test_appointments_add_overlap_and_end(api):
    client = await api("office")
    conference = await new_street_conference(client)
    person, successor = await new_person(client), await new_person(client)
    url = f"/api/conferences/{conference['id']}/appointments"
    response = await client.post(url, json={"person": person["id"], "title": "副县级", "start_date": "2026-01-01"})
    assert response.status_code == 201, response.text
    appointment = response.json()
    assert appointment["person_name"] == person["name"] and appointment["title"] == "副县级"
    body = assert_error(await client.post(url, json={"person": successor["id"], "start_date": "2026-05-01"}), 400)
    assert body["errors"] == {"start_date": "这段时间本联席会议已有召集人，请先结束现任召集人的任期。"}
    response = await client.post(f"/api/appointments/{appointment['id']}/end", json={"end_date": "2026-04-30"})
    assert response.status_code == 200 and response.json()["end_date"] == "2026-04-30"
    response = await client.post(url, json={"person": successor["id"], "start_date": "2026-05-01"})
    assert response.status_code == 201, response.text
    listed = (await client.get("/api/appointments", params={"conference": conference["id"], "sort": "start_date"})).json()
    assert [a["person"] for a in listed["items"]] == [person["id"], successor["id"]]
    assert (await client.get(f"/api/appointments/{appointment['id']}")).json()["end_date"] == "2026-04-30"


async def test_ending_a_unit_ends_its_memberships(api):
    client = await api("office")
    conference = await new_street_conference(client)
    unit = await new_unit(client)
    membership = (await client.post(f"/api/conferences/{conference['id']}/memberships",
                                    json={"unit": unit["id"], "start_date": "2026-01-01"})).json()
    body = assert_error(await client.post(f"/api/units/{unit['id']}/end", json={}), 400)
    assert body["errors"] == {"ended_on": "请填写撤销日期。"}
    assert_error(await client.post(f"/api/units/{unit['id']}/end", json={"ended_on": "2026-09-30", "version": 7}), 409)
    response = await client.post(f"/api/units/{unit['id']}/end", json={"ended_on": "2026-09-30", "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["ended_on"] == "2026-09-30"
    assert (await client.get(f"/api/memberships/{membership['id']}")).json()["end_date"] == "2026-09-30"
    body = assert_error(await client.post(f"/api/units/{unit['id']}/end", json={"ended_on": "2026-10-01"}), 400)
    assert body["errors"] == {"ended_on": "该单位已撤销。"}


# ---------------------------------------------------------------- OpenAPI and the Swagger page


async def test_openapi_documents_the_api_and_nothing_else(anon_api):
    response = await anon_api.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = set(schema["paths"])
    assert {"/api/me", "/api/streets", "/api/streets/{street_id}", "/api/units", "/api/units/{unit_id}",
            "/api/units/{unit_id}/end", "/api/convenors", "/api/convenors/{person_id}", "/api/conferences",
            "/api/conferences/{conference_id}", "/api/conferences/{conference_id}/memberships",
            "/api/conferences/{conference_id}/appointments", "/api/memberships", "/api/memberships/{membership_id}",
            "/api/memberships/{membership_id}/end", "/api/appointments", "/api/appointments/{appointment_id}",
            "/api/appointments/{appointment_id}/end"} <= paths
    assert all(p.startswith("/api/") for p in paths), sorted(p for p in paths if not p.startswith("/api/"))
    assert schema["components"]["securitySchemes"]["BearerToken"] == {"type": "http", "scheme": "bearer",
                                                                      "description": "Authorization: Bearer <令牌>"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"BearerToken": []}], (method, path)
            assert is_chinese(operation["summary"]), (method, path)
    components = schema["components"]["schemas"]
    assert set(components["UnitIn"]["properties"]) >= {"name", "kind", "parent_unit", "liaison_email"}
    assert components["UnitPatch"]["required"] == ["version"]
    assert set(components["UnitPage"]["properties"]) == {"items", "total", "page", "per_page"}
    assert set(components["Me"]["properties"]) >= {"username", "role", "conference_id", "street_id", "unit_id", "person_id"}
    create = schema["paths"]["/api/units"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]  # with its example: {"allOf": [ref], "examples"}
    assert body.get("$ref", body.get("allOf", [{}])[0].get("$ref")) == "#/components/schemas/UnitIn"
    assert "201" in create["responses"]
    listing = {p["name"] for p in schema["paths"]["/api/units"]["get"]["parameters"]}
    assert listing == {"q", "page", "per_page", "sort", "desc"}


async def test_schema_page_uses_only_local_assets(anon_api):
    response = await anon_api.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = html(response)
    assets = [tag.get("src") for tag in page.find_all("script") if tag.get("src")]
    assets += [tag.get("href") for tag in page.find_all("link") if tag.get("href")]
    assert sorted(a for a in assets if not a.startswith("data:")) == [
        "/static/swagger-init.js",  # starts Swagger UI: no inline script under the Content-Security-Policy
        "/static/vendor/swagger-ui-bundle.js", "/static/vendor/swagger-ui-standalone-preset.js",
        "/static/vendor/swagger-ui.css"]
    assert re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", response.text) == []
    for asset in assets:
        if asset.startswith("/static/"):
            served = await anon_api.get(asset)
            assert served.status_code == 200 and len(served.content) > (100 if "init" in asset else 10_000), asset
