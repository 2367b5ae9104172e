"""One spec per form (issue 14 item 2): the page's labels, the API schema's titles in
/schema/openapi.json and the validation messages all come from the form's spec
(conference.web.formspec). A copy of the spec with one label changed changes all three; the running
app shows exactly the spec's labels on the page, in the schema and in its messages."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, post
from litestar.params import JSONBody

from conference.accounts.forms import ACCOUNT_FORM, ACCOUNT_PATCH_FORM
from conference.accounts.onboarding import KINDS
from conference.agenda import forms as agenda_forms
from conference.agenda.intake import TICKET_FORM
from conference.agenda.services import ITEM_FORM
from conference.errors import ValidationFailed
from conference.holidays.forms import HOLIDAY_BODY, HOLIDAY_FORM, WORKDAY_FORM
from conference.integrations.forms import TARGET_FORM
from conference.meetings.forms import ATTENDANCE_FORM, CANCEL_FORM, DECISION_FORM, INVITATION_FORM, REPLY_FORM
from conference.meetings.services import MEETING_FORM
from conference.meetings.special_requests import REQUEST_FORM
from conference.registry.forms import (
    APPOINTMENT_FORM,
    CONFERENCE_FORM,
    MEMBERSHIP_FORM,
    PERIOD_END_FORM,
    STREET_FORM,
    UNIT_END_FORM,
    UNIT_FORM,
)
from conference.registry.services import PERSON_FORM
from conference.tasks import forms as task_forms
from conference.tasks.tables import Task
from conference.web.formspec import FormSpec
from tests import test_api, test_api_intake
from tests.conftest import field_error, html, post_form
from tests.factories import LANSHAN_STREET, conference_id, meeting_form
from tests.test_accounts_onboarding import new_unit
from tests.test_agenda import accepted_item
from tests.test_api import assert_error
from tests.test_api_intake import post_ticket, ticket, uid
from tests.test_api_meetings import new_meeting
from tests.test_tasks import MARKET, new_task

api, anon_api = test_api.api, test_api.anon_api
intake = test_api_intake.intake  # an intake account's API client

MISSING = "请填写{label}。"


def schema_of(spec: FormSpec, name: str, **options: Any) -> dict[str, Any]:
    """The OpenAPI document of an app whose one operation takes the spec's body."""
    body = spec.struct(name, **options)

    def handler(data: Any) -> None:
        return None

    handler.__annotations__ = {"data": JSONBody[body], "return": None}
    app = Litestar([post("/x", sync_to_thread=False)(handler)])
    return app.openapi_schema.to_schema()["components"]["schemas"][name]


def missing_messages(spec: FormSpec) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        spec.read({})
    return caught.value.errors


@pytest.mark.parametrize(("spec", "field"), [(MEETING_FORM, "title"), (MEETING_FORM, "location"), (ITEM_FORM, "title"),
                                             (ITEM_FORM, "description"), (REQUEST_FORM, "reason"),
                                             (PERSON_FORM, "name"), (STREET_FORM, "district"), (UNIT_FORM, "name"),
                                             (CONFERENCE_FORM, "name"), (MEMBERSHIP_FORM, "start_date"),
                                             (APPOINTMENT_FORM, "start_date"), (UNIT_END_FORM, "ended_on"),
                                             (PERIOD_END_FORM, "end_date"), (CANCEL_FORM, "reason"),
                                             (HOLIDAY_FORM, "start"), (WORKDAY_FORM, "name"), (ACCOUNT_FORM, "username")])
def test_a_changed_label_changes_the_page_the_schema_and_the_message(spec: FormSpec, field: str) -> None:
    changed = spec.relabelled(field, "改过的名称")
    page = {f.name: f.label for f in changed.page_fields()}
    titles = {name: p["title"] for name, p in schema_of(changed, "Changed")["properties"].items()}
    assert page[field] == titles[field] == "改过的名称"
    assert missing_messages(changed)[field] == MISSING.format(label="改过的名称")
    # Nothing else moved: the other fields keep the original spec's labels.
    assert {k: v for k, v in page.items() if k != field} == {
        k: v for k, v in spec.labels("page").items() if k != field}
    assert missing_messages(spec)[field] == MISSING.format(label=spec[field].label)


@pytest.mark.parametrize("spec", [MEETING_FORM, ITEM_FORM, REQUEST_FORM, PERSON_FORM, STREET_FORM, UNIT_FORM,
                                  CONFERENCE_FORM, MEMBERSHIP_FORM, APPOINTMENT_FORM, CANCEL_FORM, INVITATION_FORM,
                                  ATTENDANCE_FORM, REPLY_FORM, DECISION_FORM, HOLIDAY_BODY, ACCOUNT_FORM, ACCOUNT_PATCH_FORM,
                                  TARGET_FORM])
def test_the_api_body_carries_the_specs_limits(spec: FormSpec) -> None:
    properties = schema_of(spec, "Limits")["properties"]
    for name, field in spec.by_name.items():
        if field.on == "page":
            assert name not in properties
            continue
        assert properties[name]["title"] == field.label
        if field.kind in ("text", "multiline"):
            assert properties[name]["maxLength"] == field.limit
        if field.choices:
            listed = properties[name]["items"] if field.kind == "choices" else properties[name]  # a list: its items
            assert listed["enum"] == list(field.choices)
    patch = schema_of(spec, "Patch", patch=True, skip=("conference",), extra=[("version", int)])
    assert patch["required"] == ["version"] and "conference" not in patch["properties"]


async def test_the_meeting_form_page_schema_and_messages_follow_its_spec(as_user, api, anon_api) -> None:
    office = await as_user("office")
    page = html(await office.get("/meetings/new"))
    shown = {label["for"].removeprefix("f-"): label.contents[0].strip() for label in page.select("form label[for^=f-]")}
    assert shown == MEETING_FORM.labels("page")
    for name, field in MEETING_FORM.by_name.items():
        if field.on != "api" and field.max_length:
            assert page.find(id=f"f-{name}")["maxlength"] == str(field.max_length)

    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    titles = {name: p.get("title") for name, p in components["MeetingIn"]["properties"].items()}
    assert titles == MEETING_FORM.labels("api")

    # A required field left empty: the same message on the page and from the API, the spec's label.
    response = await post_form(office, "/meetings/new", {})
    assert response.status_code == 400
    api_office = await api("office")
    body = assert_error(await api_office.post("/api/meetings", json={"conference": await conference_id(LANSHAN_STREET)}), 400)
    for name in ("kind", "title", "date", "location"):
        field = MEETING_FORM[name]
        expected = ("请选择{label}。" if field.kind == "choice" else MISSING).format(label=field.label)
        assert field_error(response, name) == body["errors"][name] == expected
    # Too long, and of the wrong JSON type: the spec's limit and label, in Chinese.
    too_long = {**meeting_form(), "conference": await conference_id(LANSHAN_STREET), "title": "长" * 121}
    body = assert_error(await api_office.post("/api/meetings", json=too_long), 400)
    assert body["errors"] == {"title": "会议名称不能超过120个字。"}
    body = assert_error(await api_office.post("/api/meetings", json={**too_long, "title": 5, "presiding": "x"}), 400)
    assert body["errors"] == {"title": "会议名称应为文本。", "presiding": "主持召集人应为整数。"}


def page_labels(page: Any, spec: FormSpec) -> dict[str, str]:
    """The label the page shows for each of the spec's fields."""
    return {name: page.find("label", attrs={"for": f"f-{name}"}).contents[0].strip() for name in spec.labels("page")}


async def test_the_item_form_page_schema_and_messages_follow_its_spec(as_user, api, anon_api) -> None:
    office, street = await as_user("office"), await as_user("street")
    assert page_labels(html(await office.get("/items/new")), ITEM_FORM) == ITEM_FORM.labels("page")
    street_page = html(await street.get("/items/new"))
    assert street_page.find(id="f-conference") is None  # a street's conference is implied
    assert street_page.find(id="f-title")["maxlength"] == str(ITEM_FORM["title"].max_length)
    assert [o["value"] for o in street_page.find(id="f-urgency").find_all("option")] == list(ITEM_FORM["urgency"].choices or {})

    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {name: p.get("title") for name, p in components["ItemIn"]["properties"].items()} == ITEM_FORM.labels("api")

    response = await post_form(street, "/items/new", {})
    assert response.status_code == 400
    body = assert_error(await (await api("street")).post("/api/items", json={}), 400)
    for name in ("title", "description", "category"):
        field = ITEM_FORM[name]
        expected = ("请选择{label}。" if field.kind == "choice" else MISSING).format(label=field.label)
        assert field_error(response, name) == body["errors"][name] == expected
    body = assert_error(await (await api("street")).post("/api/items", json={"title": 1, "units": [1, "2"], "submit": None}), 400)
    assert body["errors"] == {"title": "议题名称应为文本。", "units": "提请单位应为整数。", "submit": "立即提交应为true 或 false。"}


async def test_the_special_request_form_page_schema_and_messages_follow_its_spec(as_user, api, anon_api) -> None:
    street = await as_user("street")
    page = html(await street.get("/special-requests/new"))
    assert page_labels(page, REQUEST_FORM) == REQUEST_FORM.labels("page")

    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {name: p.get("title") for name, p in components["SpecialRequestIn"]["properties"].items()} == (
        REQUEST_FORM.labels("api"))

    response = await post_form(street, "/special-requests/new", {})
    assert response.status_code == 400
    body = assert_error(await (await api("street")).post("/api/special-requests", json={}), 400)
    for name in ("title", "reason", "proposed_date"):
        expected = MISSING.format(label=REQUEST_FORM[name].label)
        assert field_error(response, name) == body["errors"][name] == expected
    body = assert_error(await (await api("street")).post("/api/special-requests", json={"title": 1, "items": "1"}), 400)
    assert body["errors"] == {"title": "会议名称应为文本。", "items": "提请会议研究的议题应为JSON 数组。"}


async def test_the_convenor_form_page_schema_and_messages_follow_its_spec(as_user, api, anon_api) -> None:
    office = await as_user("office")
    page = html(await office.get("/registry/convenors/new"))
    assert page_labels(page, PERSON_FORM) == PERSON_FORM.labels("page")
    assert page.find(id="f-phone")["maxlength"] == "20" and page.find(id="f-email").get("maxlength") is None

    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {name: p.get("title") for name, p in components["ConvenorIn"]["properties"].items()} == PERSON_FORM.labels("api")
    assert components["ConvenorPatch"]["required"] == ["version"]

    response = await post_form(office, "/registry/convenors/new", {"email": "不是邮箱"})
    assert response.status_code == 400
    body = assert_error(await (await api("office")).post("/api/convenors", json={"email": "不是邮箱"}), 400)
    assert field_error(response, "name") == body["errors"]["name"] == MISSING.format(label=PERSON_FORM["name"].label)
    assert field_error(response, "email") == body["errors"]["email"] == "电子邮箱格式不正确，例如 liaison@example.gov.cn。"
    body = assert_error(await (await api("office")).post("/api/convenors", json={"name": ["x"], "phone": 1}), 400)
    assert body["errors"] == {"name": "姓名应为文本。", "phone": "联系电话应为文本。"}


async def test_the_street_form_page_schema_and_messages_follow_its_spec(as_user, api, anon_api) -> None:
    office = await as_user("office")
    page = html(await office.get("/registry/streets/new"))
    assert page_labels(page, STREET_FORM) == STREET_FORM.labels("page")
    assert page.find(id="f-name")["maxlength"] == "60" and page.find(id="f-phone")["maxlength"] == "20"

    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {name: p.get("title") for name, p in components["StreetIn"]["properties"].items()} == STREET_FORM.labels("api")
    assert components["StreetPatch"]["required"] == ["version"]

    response = await post_form(office, "/registry/streets/new", {"phone": "call me"})
    assert response.status_code == 400
    body = assert_error(await (await api("office")).post("/api/streets", json={"phone": "call me"}), 400)
    for name in ("name", "district"):
        assert field_error(response, name) == body["errors"][name] == MISSING.format(label=STREET_FORM[name].label)
    assert field_error(response, "phone") == body["errors"]["phone"] == "联系电话只能包含数字、空格和 + - ( )。"
    body = assert_error(await (await api("office")).post("/api/streets", json={"name": 1, "secretary_name": [1]}), 400)
    assert body["errors"] == {"name": "街道名称应为文本。", "secretary_name": "党工委书记应为文本。"}


async def test_the_unit_form_page_schema_and_messages_follow_its_spec(as_user, api, anon_api) -> None:
    office = await as_user("office")
    page = html(await office.get("/registry/units/new"))
    assert page_labels(page, UNIT_FORM) == UNIT_FORM.labels("page")
    assert page.find(id="f-duties").name == "textarea" and page.find(id="f-duties")["maxlength"] == "2000"
    assert [o["value"] for o in page.find(id="f-kind").find_all("option")] == ["", *(UNIT_FORM["kind"].choices or {})]

    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {name: p.get("title") for name, p in components["UnitIn"]["properties"].items()} == UNIT_FORM.labels("api")
    assert components["UnitIn"]["properties"]["kind"]["enum"] == list(UNIT_FORM["kind"].choices or {})
    assert components["UnitPatch"]["required"] == ["version"]

    response = await post_form(office, "/registry/units/new", {"liaison_email": "x@"})
    assert response.status_code == 400
    body = assert_error(await (await api("office")).post("/api/units", json={"liaison_email": "x@"}), 400)
    assert field_error(response, "name") == body["errors"]["name"] == MISSING.format(label=UNIT_FORM["name"].label)
    assert field_error(response, "kind") == body["errors"]["kind"] == "请选择单位类别。"
    assert field_error(response, "liaison_email") == body["errors"]["liaison_email"] == (
        "联络员邮箱格式不正确，例如 liaison@example.gov.cn。")
    # The API has always named a unit's name 名称 in its type messages (tests/test_api.py): the field's api_label.
    body = assert_error(await (await api("office")).post("/api/units", json={"name": 5, "duties": 7, "parent_unit": "1"}), 400)
    assert body["errors"] == {"name": "名称应为文本。", "duties": "职责任务应为文本。", "parent_unit": "上级单位应为整数。"}
    body = assert_error(await (await api("office")).post("/api/units/1/end", json={"ended_on": 1, "version": "3"}), 400)
    assert body["errors"] == {"ended_on": "撤销日期应为日期（如 2026-11-29）。", "version": "版本应为整数。"}


async def test_the_conference_form_page_schema_and_messages_follow_its_spec(as_user, api, anon_api) -> None:
    office = await as_user("office")
    page = html(await office.get("/registry/conferences/new"))
    assert page_labels(page, CONFERENCE_FORM) == CONFERENCE_FORM.labels("page")
    assert page.find(id="f-doc_prefix")["maxlength"] == "20" and page.find(id="f-parent").name == "select"

    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {name: p.get("title") for name, p in components["ConferenceIn"]["properties"].items()} == (
        CONFERENCE_FORM.labels("api"))
    assert components["ConferencePatch"]["required"] == ["version"]

    response = await post_form(office, "/registry/conferences/new", {"office_phone": "phone"})
    assert response.status_code == 400
    body = assert_error(await (await api("office")).post("/api/conferences", json={"office_phone": "phone"}), 400)
    assert field_error(response, "name") == body["errors"]["name"] == MISSING.format(label=CONFERENCE_FORM["name"].label)
    assert field_error(response, "level") == body["errors"]["level"] == "请选择层级。"
    assert field_error(response, "office_phone") == body["errors"]["office_phone"] == "办公室电话只能包含数字、空格和 + - ( )。"
    body = assert_error(await (await api("office")).post("/api/conferences", json={"name": 1, "street": "3"}), 400)
    assert body["errors"] == {"name": "联席会议名称应为文本。", "street": "所属街道应为整数。"}


async def test_the_membership_and_appointment_forms_follow_their_specs(as_user, api) -> None:
    office = await as_user("office")
    url = f"/registry/conferences/{await conference_id(LANSHAN_STREET)}"
    page = html(await office.get(url))
    assert page_labels(page, APPOINTMENT_FORM) == APPOINTMENT_FORM.labels("page")
    assert page.find(id="f-title")["maxlength"] == str(APPOINTMENT_FORM["title"].max_length)
    shown = {name: page.find("label", attrs={"for": f"{prefix}-{name}"}).get_text(strip=True)
             for name, prefix in (("unit", "f"), ("start_date", "m"), ("end_date", "m"))}
    assert shown == MEMBERSHIP_FORM.labels("page")

    client = await api("office")
    response = await post_form(office, f"{url}/memberships", {})
    assert response.status_code == 400
    body = assert_error(await client.post(f"/api/conferences/{await conference_id(LANSHAN_STREET)}/memberships", json={}), 400)
    assert field_error(response, "unit") == body["errors"]["unit"] == "请选择成员单位。"
    assert field_error(response, "start_date") == body["errors"]["start_date"] == "请填写开始日期。"
    response = await post_form(office, f"{url}/appointments", {"title": "长" * 61})
    assert response.status_code == 400
    body = assert_error(await client.post(f"/api/conferences/{await conference_id(LANSHAN_STREET)}/appointments",
                                          json={"title": "长" * 61}), 400)
    assert field_error(response, "title") == body["errors"]["title"] == "职级不能超过60个字。"
    assert field_error(response, "person") == body["errors"]["person"] == "请选择召集人。"
    # The API has always named an appointment's title 职务 in its type messages: the field's api_label.
    body = assert_error(await client.post(f"/api/conferences/{await conference_id(LANSHAN_STREET)}/appointments",
                                          json={"person": "1", "title": 3, "end_date": "2026-02-30"}), 400)
    assert body["errors"] == {"person": "召集人应为整数。", "title": "职务应为文本。",
                              "end_date": "结束日期不是有效日期，请按 2026-11-29 的格式填写。"}
    body = assert_error(await client.post("/api/memberships/1/end", json={"end_date": [], "version": 1.5}), 400)
    assert body["errors"] == {"end_date": "结束日期应为日期（如 2026-11-29）。", "version": "版本应为整数。"}


def body_schema(document: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    """The schema of an operation's JSON request body, its reference followed."""
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    ref = schema["$ref"] if "$ref" in schema else schema["allOf"][0]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


async def test_the_meeting_pages_smaller_forms_follow_their_specs(as_user, api, anon_api) -> None:
    office, client = await as_user("office"), await api("office")
    meeting = await new_meeting(client)
    url, api_url = f"/meetings/{meeting['id']}", f"/api/meetings/{meeting['id']}"
    page = html(await office.get(url))
    assert page.find("label", attrs={"for": "f-reason"}).get_text(strip=True) == CANCEL_FORM["reason"].label
    assert page.find(id="f-reason")["maxlength"] == str(CANCEL_FORM["reason"].max_length)
    assert page_labels(page, INVITATION_FORM) == INVITATION_FORM.labels("page")
    assert [o["value"] for o in page.find(id="f-role").find_all("option")] == list(INVITATION_FORM["role"].choices or {})

    document = (await anon_api.get("/schema/openapi.json")).json()
    for path, spec in (("/api/meetings/{meeting_id}/cancel", CANCEL_FORM),
                       ("/api/meetings/{meeting_id}/invitations", INVITATION_FORM),
                       ("/api/invitations/{invitation_id}/attendance", ATTENDANCE_FORM),
                       ("/api/invitations/{invitation_id}/reply", REPLY_FORM),
                       ("/api/special-requests/{request_id}/decline", DECISION_FORM)):
        properties = body_schema(document, path)["properties"]
        assert {k: p.get("title") for k, p in properties.items()} == spec.labels("api"), path
    assert "attendee_name" not in body_schema(document, "/api/invitations/{invitation_id}/attendance")["properties"]

    # The same message from the page and from the API, the spec's label.
    response = await post_form(office, f"{url}/cancel", {})
    assert response.status_code == 400
    body = assert_error(await client.post(f"{api_url}/cancel", json={}), 400)
    assert field_error(response, "reason") == body["errors"]["reason"] == MISSING.format(label=CANCEL_FORM["reason"].label)
    response = await post_form(office, f"{url}/invitations", {"role": "member"})
    assert response.status_code == 400
    body = assert_error(await client.post(f"{api_url}/invitations", json={"role": "member"}), 400)
    assert field_error(response, "unit") == body["errors"]["unit"] == "请选择{label}。".format(label=INVITATION_FORM["unit"].label)
    # Wrong JSON types, in Chinese with the spec's labels, before anything is read.
    body = assert_error(await client.post(f"{api_url}/invitations", json={"unit": "1", "role": 1}), 400)
    assert body["errors"] == {"unit": "单位应为整数。", "role": "邀请身份应为文本。"}
    invitation = meeting["invitations"][0]["id"]
    body = assert_error(await client.post(f"/api/invitations/{invitation}/attendance", json={"attendance": ["present"]}), 400)
    assert body["errors"] == {"attendance": "签到情况应为文本。"}
    body = assert_error(await client.post(f"/api/invitations/{invitation}/attendance", json={"attendee_name": "x"}), 400)
    assert body["errors"] == {"attendee_name": "不支持字段“attendee_name”。"}
    body = assert_error(await (await api("convenor")).post("/api/special-requests/1/approve", json={"comment": 1}), 400)
    assert body["errors"] == {"comment": "审批意见应为文本。"}


async def test_the_holiday_forms_follow_their_specs(as_user, api, anon_api) -> None:
    office, client = await as_user("office"), await api("office")
    page = html(await office.get("/holidays"))
    assert page_labels(page, HOLIDAY_FORM) == HOLIDAY_FORM.labels("page")
    assert page.find("label", attrs={"for": "f-day"}).get_text(strip=True) == WORKDAY_FORM["day"].label
    assert page.find("label", attrs={"for": "f-workday_name"}).get_text(strip=True) == WORKDAY_FORM["name"].label
    assert page.find(id="f-workday_name")["maxlength"] == str(WORKDAY_FORM["name"].max_length)

    document = (await anon_api.get("/schema/openapi.json")).json()
    properties = body_schema(document, "/api/holidays")["properties"]
    assert {k: p.get("title") for k, p in properties.items()} == HOLIDAY_BODY.labels("api")
    assert properties["kind"]["enum"] == ["holiday", "workday"]

    for kind, spec, names in (("holidays", HOLIDAY_FORM, ("name", "start")), ("workdays", WORKDAY_FORM, ("day",))):
        response = await post_form(office, f"/holidays/{kind}", {})
        assert response.status_code == 400
        body = assert_error(await client.post("/api/holidays", json={"kind": kind[:-1]}), 400)
        for name in names:
            assert field_error(response, name) == body["errors"][name] == MISSING.format(label=spec[name].label)
    assert body["errors"]["name"] == MISSING.format(label=WORKDAY_FORM["name"].label)  # 对应节日, for a workday
    body = assert_error(await client.post("/api/holidays", json={"kind": "holiday", "name": 1, "start": 20270101}), 400)
    assert body["errors"] == {"name": "节日名称应为文本。", "start": "放假开始日期应为日期（如 2026-11-29）。"}
    body = assert_error(await client.post("/api/holidays", json={"name": "春节", "day": "2027-02-20"}), 400)
    assert body["errors"] == {"kind": "请填写登记类型。"}

async def test_the_push_target_form_follows_its_spec(as_user, api, anon_api) -> None:
    office, client = await as_user("office"), await api("office")
    page = html(await office.get("/integrations/new?kind=dingtalk"))
    shown = {name: page.find("label", attrs={"for": f"f-{name}"}).contents[0].strip()
             for name in ("name", "conference", "unit", "url", "secret")}
    assert shown == {name: TARGET_FORM[name].label for name in shown}
    assert page.select_one("#f-events legend").contents[0].strip() == TARGET_FORM["events"].label
    assert page.find(id="f-url")["maxlength"] == str(TARGET_FORM["url"].max_length)

    document = (await anon_api.get("/schema/openapi.json")).json()
    properties = body_schema(document, "/api/integrations/targets")["properties"]
    assert {k: p.get("title") for k, p in properties.items()} == {
        k: v for k, v in TARGET_FORM.labels("api").items() if k != "active"}
    assert properties["events"]["items"]["enum"] == list(TARGET_FORM["events"].choices or {})
    patch = body_schema(document, "/api/integrations/targets/{target_id}", "patch")
    assert patch["required"] == ["version"] and "kind" not in patch["properties"]

    response = await post_form(office, "/integrations/new", {"kind": "webhook"})
    assert response.status_code == 400
    body = assert_error(await client.post("/api/integrations/targets", json={"kind": "webhook"}), 400)
    for name in ("name", "conference", "url"):
        assert field_error(response, name) == body["errors"][name]
    assert body["errors"]["name"] == MISSING.format(label=TARGET_FORM["name"].label)
    body = assert_error(await client.post("/api/integrations/targets", json={
        "kind": "webhook", "name": 1, "conference": "一", "events": ["task.deleted"]}), 400)
    assert body["errors"] == {"name": "名称应为文本。", "conference": "联席会议应为整数。", "events": "推送事件不是可选的值。"}
    body = assert_error(await client.post("/api/integrations/targets", json={"kind": "webhook", "events": "task.urged"}), 400)
    assert body["errors"] == {"events": "推送事件应为JSON 数组。"}


# ---------------------------------------------------------------- the task and agenda action forms

ACTION_SPECS = [task_forms.PROGRESS_FORM, task_forms.DONE_FORM, task_forms.EXTENSION_FORM, task_forms.DECISION_FORM,
                task_forms.CLOSE_FORM, task_forms.RETURN_FORM, task_forms.CANCEL_FORM, task_forms.REOPEN_FORM,
                task_forms.RATING_FORM, task_forms.URGE_FORM, task_forms.URGE_MANY_FORM]
AGENDA_ACTION_SPECS = [agenda_forms.RETURN_FORM, agenda_forms.MERGE_FORM, agenda_forms.SCHEDULE_FORM,
                       agenda_forms.OUTCOME_FORM, agenda_forms.MOVE_FORM, TICKET_FORM]


@pytest.mark.parametrize(("spec", "field"), [
    (task_forms.PROGRESS_FORM, "text"), (task_forms.EXTENSION_FORM, "extension_reason"), (task_forms.RETURN_FORM, "reason"),
    (task_forms.REOPEN_FORM, "deadline"), (task_forms.URGE_FORM, "message"), (agenda_forms.RETURN_FORM, "reason"),
    (agenda_forms.SCHEDULE_FORM, "meeting")])
def test_an_action_forms_changed_label_changes_the_page_the_schema_and_the_message(spec: FormSpec, field: str) -> None:
    changed = spec.relabelled(field, "改过的名称")
    titles = {name: p["title"] for name, p in schema_of(changed, "Changed")["properties"].items()}
    assert {f.name: f.label for f in changed.page_fields()}[field] == titles[field] == "改过的名称"
    asked = "请选择{label}。" if spec[field].kind in ("ref", "choice") else MISSING
    assert missing_messages(changed)[field] == asked.format(label="改过的名称")
    assert missing_messages(spec)[field] == asked.format(label=spec[field].label)


@pytest.mark.parametrize("spec", ACTION_SPECS)
def test_an_action_body_carries_the_specs_limits(spec: FormSpec) -> None:
    properties = schema_of(spec, "Limits")["properties"]
    for name, field in spec.by_name.items():
        assert properties[name]["title"] == field.label
        if field.kind in ("text", "multiline"):
            assert properties[name]["maxLength"] == field.limit
        if field.choices:
            assert properties[name]["enum"] == list(field.choices)
    # A required field only the API has (no form asks for it) must be in the body.
    assert schema_of(spec, "Required").get("required", []) == [
        f.name for f in spec.fields if f.required and f.on == "api"]


async def test_the_task_action_forms_follow_their_specs(as_user, api, anon_api) -> None:
    task_id = (await new_task(MARKET))[MARKET]
    unit, office = await as_user("unit"), await as_user("office")
    page = html(await unit.get(f"/tasks/{task_id}"))
    for name, field in task_forms.EXTENSION_FORM.by_name.items():
        assert page.find("label", attrs={"for": f"f-extension-{name}"}).contents[0].strip() == field.label
    assert page.find(id="f-extension-extension_reason")["maxlength"] == "2000"
    page = html(await office.get(f"/tasks/{task_id}"))
    assert page.find("label", attrs={"for": "f-urge-message"}).contents[0].strip() == task_forms.URGE_FORM["message"].label
    assert page.find("label", attrs={"for": "f-cancel-reason"}).contents[0].strip() == task_forms.CANCEL_FORM["reason"].label

    document = (await anon_api.get("/schema/openapi.json")).json()
    for path, spec in (("extension", task_forms.EXTENSION_FORM), ("extension/decision", task_forms.DECISION_FORM),
                       ("cancel", task_forms.CANCEL_FORM), ("reopen", task_forms.REOPEN_FORM),
                       ("rating", task_forms.RATING_FORM), ("urge", task_forms.URGE_FORM)):
        titles = {name: p.get("title") for name, p in body_schema(document, f"/api/tasks/{{task_id}}/{path}")["properties"].items()}
        assert titles == spec.labels("api")
    assert body_schema(document, "/api/tasks/{task_id}/extension/decision")["required"] == ["approve"]
    assert body_schema(document, "/api/tasks/urge")["required"] == ["tasks"]

    # A required field left empty: the same message on the page and from the API, the spec's label.
    response = await post_form(unit, f"/tasks/{task_id}/extension", {})
    assert response.status_code == 400
    api_unit, api_office = await api("unit"), await api("office")
    body = assert_error(await api_unit.post(f"/api/tasks/{task_id}/extension", json={}), 400)
    for name in ("extension_deadline", "extension_reason"):
        expected = MISSING.format(label=task_forms.EXTENSION_FORM[name].label)
        assert field_error(response, name) == body["errors"][name] == expected
    response = await post_form(office, f"/tasks/{task_id}/cancel", {})
    body = assert_error(await api_office.post(f"/api/tasks/{task_id}/cancel", json={}), 400)
    assert field_error(response, "reason") == body["errors"]["reason"] == "请填写撤销理由。"
    # Of the wrong JSON type: the spec's labels, in Chinese, before the task is looked at.
    body = assert_error(await api_unit.post(f"/api/tasks/{task_id}/extension",
                                            json={"extension_deadline": 5, "extension_reason": ["x"]}), 400)
    assert body["errors"] == {"extension_deadline": "申请延期至应为日期（如 2026-11-29）。", "extension_reason": "延期理由应为文本。"}
    body = assert_error(await api_office.post(f"/api/tasks/{task_id}/urge", json={"message": 1}), 400)
    assert body["errors"] == {"message": "催办意见应为文本。"}
    body = assert_error(await api_office.post("/api/tasks/urge", json={"message": "请办理"}), 400)
    assert body["errors"] == {"tasks": "请填写任务。"}
    body = assert_error(await api_office.post("/api/tasks/urge", json={"tasks": ["1"], "message": "请办理"}), 400)
    assert body["errors"] == {"tasks": "任务应为整数。"}
    body = assert_error(await api_office.post(f"/api/tasks/{task_id}/extension/decision", json={"comment": "x"}), 400)
    assert body["errors"] == {"approve": "请填写是否同意。"}
    body = assert_error(await api_office.post(f"/api/tasks/{task_id}/extension/decision", json={"approve": "no"}), 400)
    assert body["errors"] == {"approve": "是否同意应为true 或 false。"}
    body = assert_error(await (await api("street")).post(f"/api/tasks/{task_id}/rating", json={"rating": "bad"}), 400)
    assert body["errors"] == {"rating": "请从列表中选择评价。"}


@pytest.mark.parametrize("spec", AGENDA_ACTION_SPECS)
def test_an_item_action_body_carries_the_specs_limits(spec: FormSpec) -> None:
    test_an_action_body_carries_the_specs_limits(spec)


async def test_the_item_action_forms_follow_their_specs(as_user, api, anon_api) -> None:
    street, office = await as_user("street"), await as_user("office")
    item_id = await accepted_item(street, office)
    page = html(await office.get(f"/items/{item_id}"))
    for spec in (agenda_forms.RETURN_FORM, agenda_forms.MERGE_FORM, agenda_forms.SCHEDULE_FORM):
        assert page_labels(page, spec) == spec.labels("page")
    assert page.find(id="f-reason")["maxlength"] == str(agenda_forms.RETURN_FORM["reason"].max_length)

    document = (await anon_api.get("/schema/openapi.json")).json()
    for path, spec in (("return", agenda_forms.RETURN_FORM), ("merge", agenda_forms.MERGE_FORM),
                       ("schedule", agenda_forms.SCHEDULE_FORM), ("outcome", agenda_forms.OUTCOME_FORM),
                       ("move", agenda_forms.MOVE_FORM)):
        titles = {name: p.get("title") for name, p in body_schema(document, f"/api/items/{{item_id}}/{path}")["properties"].items()}
        assert titles == spec.labels("api")

    # A required field left empty: the same message on the page and from the API, the spec's label.
    api_office = await api("office")
    for path, spec in (("return", agenda_forms.RETURN_FORM), ("merge", agenda_forms.MERGE_FORM),
                       ("schedule", agenda_forms.SCHEDULE_FORM)):
        response = await post_form(office, f"/items/{item_id}/{path}", {})
        assert response.status_code == 400
        body = assert_error(await api_office.post(f"/api/items/{item_id}/{path}", json={}), 400)
        for name, field in spec.by_name.items():
            expected = ("请选择{label}。" if field.kind == "ref" else MISSING).format(label=field.label)
            assert field_error(response, name) == body["errors"][name] == expected
    # Of the wrong JSON type: the spec's labels (the meeting's api_label, as the API always named it).
    body = assert_error(await api_office.post(f"/api/items/{item_id}/schedule", json={"meeting": "1"}), 400)
    assert body["errors"] == {"meeting": "会议应为整数。"}
    body = assert_error(await api_office.post(f"/api/items/{item_id}/outcome", json={"outcome": 1, "note": [1]}), 400)
    assert body["errors"] == {"outcome": "研究结果应为文本。", "note": "说明应为文本。"}

async def test_the_account_form_follows_its_spec(as_user, api, anon_api) -> None:
    office, client = await as_user("office"), await api("office")
    unit_id = await new_unit()
    page = html(await office.get(f"/accounts/units/{unit_id}/new"))
    assert page_labels(page, ACCOUNT_FORM) == ACCOUNT_FORM.labels("page")
    assert page.find(id="f-email")["maxlength"] == str(ACCOUNT_FORM["email"].max_length)
    assert set(ACCOUNT_FORM["kind"].choices or {}) == set(KINDS)

    document = (await anon_api.get("/schema/openapi.json")).json()
    properties = body_schema(document, "/api/accounts")["properties"]
    assert {k: p.get("title") for k, p in properties.items()} == ACCOUNT_FORM.labels("api")
    patch = body_schema(document, "/api/accounts/{user_id}", "patch")["properties"]
    assert {k: p.get("title") for k, p in patch.items()} == ACCOUNT_PATCH_FORM.labels("api")

    blank = {"username": "", "display_name": "", "email": ""}
    response = await post_form(office, f"/accounts/units/{unit_id}/new", blank)
    assert response.status_code == 400
    body = assert_error(await client.post("/api/accounts", json={"kind": "units", "record": unit_id, **blank}), 400)
    for name in ("username", "email"):
        assert field_error(response, name) == body["errors"][name] == MISSING.format(label=ACCOUNT_FORM[name].label)
    body = assert_error(await client.post("/api/accounts", json={"kind": "units", "record": "1", "username": 5}), 400)
    assert body["errors"] == {"record": "开通对象应为整数。", "username": "用户名应为文本。"}
    body = assert_error(await client.patch("/api/accounts/1", json={"active": "no", "unit": "x"}), 400)
    assert body["errors"] == {"active": "是否启用应为true 或 false。", "unit": "所属成员单位应为整数。"}


async def test_an_intake_ticket_follows_its_spec(as_user, anon_api, intake) -> None:
    """A ticket is the item form's fields and its reference: the same labels and messages as the item page."""
    components = (await anon_api.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {name: p.get("title") for name, p in components["TicketIn"]["properties"].items()} == (
        TICKET_FORM.labels("api"))
    assert components["TicketIn"]["properties"]["external_source"]["enum"] == ["12345", "grid"]
    response = await post_form(await as_user("street"), "/items/new", {})
    body = assert_error(await post_ticket(intake, {"external_ref": "12345-1", "external_source": "12345"}, f"k-{uid()}"), 400)
    for name in ("title", "description", "category"):
        assert field_error(response, name) == body["errors"][name]
    body = assert_error(await post_ticket(intake, {**ticket(), "title": 1, "units": ["2"], "external_ref": 7}, f"k-{uid()}"), 400)
    assert body["errors"] == {"title": "议题名称应为文本。", "units": "提请单位应为整数。", "external_ref": "工单编号应为文本。"}
    records = [{"idempotency_key": 5, "ticket": ticket()}, {"idempotency_key": "k", "ticket": {**ticket(), "urgency": 1}}]
    body = assert_error(await intake.post("/api/intake/items/bulk", json={"records": records}), 400)
    assert body["errors"] == {"records[0].idempotency_key": "Idempotency-Key应为文本。",
                              "records[1].ticket.urgency": "紧急程度应为文本。"}


async def test_the_resolution_correction_follows_its_spec(as_user, api, anon_api) -> None:
    task_id = (await new_task(MARKET))[MARKET]
    row = await Task.select(Task.resolution).where(Task.id == task_id).first()
    resolution_id = int(row["resolution"])
    document = (await anon_api.get("/schema/openapi.json")).json()
    schema = body_schema(document, "/api/resolutions/{resolution_id}", "patch")
    assert {k: p.get("title") for k, p in schema["properties"].items() if k != "version"} == (
        task_forms.RESOLUTION_EDIT_FORM.labels("api"))
    assert schema["required"] == ["version"] and schema["properties"]["deadline_mode"]["enum"] == ["date", "workdays"]

    # Left empty: the same messages on the meeting page and from the API, the spec's labels.
    response = await post_form(await as_user("office"), f"/resolutions/{resolution_id}/edit", {})
    assert response.status_code == 400
    client = await api("office")
    body = assert_error(await client.patch(f"/api/resolutions/{resolution_id}", json={"version": 1}), 400)
    for name in ("text", "lead_unit", "deadline_mode", "reason"):
        field = task_forms.RESOLUTION_EDIT_FORM[name]
        expected = ("请选择{label}。" if field.kind in ("ref", "choice") else MISSING).format(label=field.label)
        assert field_error(response, f"r{resolution_id}-{name}") == body["errors"][name] == expected
    body = assert_error(await client.patch(f"/api/resolutions/{resolution_id}", json={
        "version": 1, "text": 1, "lead_unit": "3", "cooperating": ["5"], "deadline": 20270131, "deadline_workdays": "10"}), 400)
    assert body["errors"] == {"text": "议定事项内容应为文本。", "lead_unit": "牵头单位应为整数。", "cooperating": "配合单位应为整数。",
                              "deadline": "办结期限应为日期（如 2026-11-29）。", "deadline_workdays": "工作日数应为整数。"}
