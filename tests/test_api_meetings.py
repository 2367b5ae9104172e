"""The meetings, invitations, special-request, agenda-item and notification JSON API: every endpoint's
happy path, every forbidden state transition (409 in Chinese), roles and scope (403/404), wrong JSON
types (400, never 500), tokens shown only to offices, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from conference.collation import sort_key
from conference.meetings.tables import Meeting
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from tests import test_api
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, conference_id, meeting_form, unique
from tests.querycount import count_queries
from tests.test_api import STALE, assert_error, id_of, is_chinese
from tests.tokens import sent_reply_token

api, anon_api = test_api.api, test_api.anon_api  # the registry API tests' fixtures: clients with a fresh token

MARKET = "兰山区市场监管局"  # the `unit` account
POLICE = "兰山派出所"  # the `unit_police` account


def yesterday() -> str:
    return (dt.date.today() - dt.timedelta(days=1)).isoformat()


async def new_meeting(client: httpx.AsyncClient, conference: str = LANSHAN_STREET, **overrides: Any) -> dict[str, Any]:
    body = {"conference": await conference_id(conference), **meeting_form(**overrides)}
    response = await client.post("/api/meetings", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def notified_meeting(client: httpx.AsyncClient, conference: str = LANSHAN_STREET, **overrides: Any) -> dict[str, Any]:
    meeting = await new_meeting(client, conference, **overrides)
    response = await client.post(f"/api/meetings/{meeting['id']}/notify")
    assert response.status_code == 200, response.text
    return response.json()["meeting"]


async def invitation_of(meeting: dict[str, Any], unit_name: str) -> dict[str, Any]:
    found = [i for i in meeting["invitations"] if i["unit_name"] == unit_name]
    assert found, (unit_name, [i["unit_name"] for i in meeting["invitations"]])
    return found[0]


async def new_item(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"title": unique("议题"), "description": "情况说明", "category": "safety", "urgency": "normal",
            "units": [await id_of(MemberUnit, MARKET)], **fields}
    response = await client.post("/api/items", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def accepted_item(street: httpx.AsyncClient, office: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    item = await new_item(street, submit=True, **fields)
    response = await office.post(f"/api/items/{item['id']}/accept")
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- meetings


async def test_create_read_list_and_patch_a_meeting(api):
    office = await api("office")
    title = unique("全体会议")
    meeting = await new_meeting(office, title=title, notes="备注一")
    assert (meeting["title"], meeting["status"], meeting["kind"], meeting["version"], meeting["sequence"]) == (
        title, "draft", "plenary", 1, 0)
    assert meeting["start_time"] == "09:00" and meeting["end_time"] == "11:00" and meeting["presiding_name"] == "王建国"
    invited = {i["unit_name"] for i in meeting["invitations"]}
    assert {MARKET, POLICE} <= invited and "柳青派出所" not in invited and "罗庄区市场监管局" not in invited
    assert all("token" not in i and i["reply"] == "pending" for i in meeting["invitations"])  # stored hashed, never shown
    assert meeting["counts"]["invited"] == len(meeting["invitations"]) and meeting["counts"]["to_notify"] == len(invited)
    assert (await office.get(f"/api/meetings/{meeting['id']}")).json() == meeting

    listed = (await office.get("/api/meetings", params={"q": title})).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == meeting["id"]
    row = listed["items"][0]
    assert row["invited"] == len(invited) and row["replied"] == 0 and row["items"] == 0
    assert row["conference_name"] == LANSHAN_STREET and row["presiding_name"] == "王建国"
    day = dt.date.fromisoformat(meeting["date"])
    for params, expected in (
        ({"conference": meeting["conference"], "kind": "plenary", "status": "draft"}, 1),
        ({"start": day.isoformat(), "end": day.isoformat()}, 1),
        ({"start": (day + dt.timedelta(days=1)).isoformat()}, 0),
        ({"end": (day - dt.timedelta(days=1)).isoformat()}, 0),
        ({"kind": "special"}, 0), ({"status": "notified"}, 0),
        ({"conference": await conference_id(LUOZHUANG_STREET)}, 0),
    ):
        assert (await office.get("/api/meetings", params={"q": title, **params})).json()["total"] == expected, params

    # A draft: only the given fields change, the sequence stays.
    url = f"/api/meetings/{meeting['id']}"
    response = await office.patch(url, json={"version": 1, "location": "新会议室"})
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["location"] == "新会议室" and patched["version"] == 2 and patched["sequence"] == 0
    assert {k: patched[k] for k in ("title", "date", "start_time", "end_time", "notes", "presiding")} == \
        {k: meeting[k] for k in ("title", "date", "start_time", "end_time", "notes", "presiding")}
    assert assert_error(await office.patch(url, json={"version": 1, "location": "旧版本"}), 409)["detail"] == STALE
    assert assert_error(await office.patch(url, json={"location": "无版本"}), 400)["errors"] == {"version": "请填写版本。"}
    for version in (0, -1, 2**40):  # never taken as "don't check"
        assert set(assert_error(await office.patch(url, json={"version": version, "location": "越过版本"}), 400)["errors"]) == {"version"}
    body = assert_error(await office.patch(url, json={"version": 2, "end_time": "08:00", "title": None}), 400)
    assert body["errors"] == {"end_time": "结束时间必须晚于开始时间。", "title": "请填写会议名称。"}
    response = await office.patch(url, json={"version": 2, "notes": None})
    assert response.status_code == 200 and response.json()["notes"] == ""


async def test_a_change_after_notification_increases_the_sequence_and_renotifies(api):
    office = await api("office")
    meeting = await new_meeting(office)
    url = f"/api/meetings/{meeting['id']}"
    response = await office.post(f"{url}/notify")
    assert response.status_code == 200, response.text
    invited = len(meeting["invitations"])
    assert response.json()["notified"] == invited
    notified = response.json()["meeting"]
    assert notified["status"] == "notified" and notified["notified_at"] and notified["counts"]["to_notify"] == 0
    # Notes are not in the notice: no new sequence.
    response = await office.patch(url, json={"version": notified["version"], "notes": "会前材料已备齐"})
    assert response.status_code == 200 and response.json()["sequence"] == 0
    # Time, place or title: SEQUENCE + 1, and every invited unit is to be told again.
    changed = response.json()
    response = await office.patch(url, json={"version": changed["version"], "start_time": "14:30", "end_time": "16:00"})
    assert response.status_code == 200, response.text
    # ... and the change notice goes out with the save: nobody is left to notify.
    assert response.json()["sequence"] == 1 and response.json()["counts"]["to_notify"] == 0
    assert response.json()["start_time"] == "14:30"
    assert (await office.post(f"{url}/notify")).status_code == 409
    ids = [i["id"] for i in meeting["invitations"]]
    events = await Notification.select(Notification.event).where(
        (Notification.entity == "invitation") & Notification.entity_id.is_in(ids))
    assert sorted(e["event"] for e in events) == ["meeting_notified"] * invited + ["meeting_updated"] * invited


async def test_create_meeting_validation(api):
    office = await api("office")
    body = assert_error(await office.post("/api/meetings", json={}), 400)
    assert body["errors"] == {"conference": "请选择联席会议。"}
    lanshan = await conference_id(LANSHAN_STREET)
    body = assert_error(await office.post("/api/meetings", json={"conference": lanshan}), 400)
    assert set(body["errors"]) == {"kind", "title", "date", "start_time", "end_time", "location"}
    assert body["errors"]["title"] == "请填写会议名称。"
    body = assert_error(await office.post("/api/meetings", json={**meeting_form(start_time="9点"), "conference": lanshan}), 400)
    assert body["errors"] == {"start_time": "请按 09:00 的格式填写开始时间。"}
    # A conference out of the office's scope (or no conference at all) is reported as missing.
    for conference in (await conference_id(LUOZHUANG_STREET), 2**31 - 1, 2**40, -3):
        body = assert_error(await office.post("/api/meetings", json={**meeting_form(), "conference": conference}), 400)
        assert body["errors"] == {"conference": "所选联席会议不存在。"}, conference
    other = await api("office_luozhuang")
    body = assert_error(await other.post("/api/meetings", json={**meeting_form(), "conference": lanshan}), 400)
    assert body["errors"] == {"conference": "所选联席会议不存在。"}


async def test_meeting_transitions_in_the_wrong_state_answer_409(api):
    office, unit = await api("office"), await api("unit")
    # A draft cannot be held, nor signed in.
    draft = await new_meeting(office)
    assert "不能标记为已召开" in assert_error(await office.post(f"/api/meetings/{draft['id']}/hold"), 409)["detail"]
    first = draft["invitations"][0]["id"]
    assert "不能签到" in assert_error(await office.post(f"/api/invitations/{first}/attendance",
                                                        json={"attendance": "present"}), 409)["detail"]
    # Notified, but not started yet: cannot be held; nothing left to notify.
    future = await notified_meeting(office)
    body = assert_error(await office.post(f"/api/meetings/{future['id']}/hold"), 409)
    assert body["detail"].startswith("会议尚未开始（") and body["detail"].endswith("），开始后才能标记为已召开。")
    body = assert_error(await office.post(f"/api/meetings/{future['id']}/notify"), 409)
    assert body["detail"] == "所有受邀单位都已收到最新通知。"
    # No invited unit left: nothing to notify.
    empty = await new_meeting(office)
    for invitation in empty["invitations"]:
        assert (await office.delete(f"/api/invitations/{invitation['id']}")).status_code == 204
    body = assert_error(await office.post(f"/api/meetings/{empty['id']}/notify"), 409)
    assert body["detail"] == "会议还没有邀请任何单位，不能发送通知。"

    # Cancelled: a reason is required; then nothing else is possible.
    url = f"/api/meetings/{future['id']}"
    assert assert_error(await office.post(f"{url}/cancel", json={}), 400)["errors"] == {"reason": "请填写取消原因。"}
    response = await office.post(f"{url}/cancel", json={"reason": "与区委会议冲突"})
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "与区委会议冲突"
    market = await invitation_of(cancelled, MARKET)
    for method, path, payload in (
        ("POST", f"{url}/notify", None), ("POST", f"{url}/hold", None), ("POST", f"{url}/cancel", {"reason": "再取消"}),
        ("PATCH", url, {"version": cancelled["version"], "location": "改地点"}),
        ("POST", f"{url}/invitations", {"unit": await id_of(MemberUnit, "罗庄区应急管理局"), "role": "observer"}),
        ("DELETE", f"/api/invitations/{market['id']}", None),
        ("POST", f"/api/invitations/{market['id']}/attendance", {"attendance": "present"}),
    ):
        body = assert_error(await office.request(method, path, json=payload), 409)
        assert "已取消" in body["detail"], (method, path, body)
    body = assert_error(await unit.post(f"/api/invitations/{market['id']}/reply", json={"reply": "leave", "leave_reason": "出差"}), 409)
    assert body["detail"] == "会议当前状态为“已取消”，不能回复参会情况。"

    # Held: no edit, notice, cancellation or reply any more; sign-in still open.
    past = await notified_meeting(office, date=yesterday())
    url = f"/api/meetings/{past['id']}"
    response = await office.post(f"{url}/hold")
    assert response.status_code == 200 and response.json()["status"] == "held"
    for method, path, payload in (
        ("POST", f"{url}/notify", None), ("POST", f"{url}/hold", None), ("POST", f"{url}/cancel", {"reason": "补取消"}),
        ("PATCH", url, {"version": response.json()["version"], "location": "改地点"}),
    ):
        body = assert_error(await office.request(method, path, json=payload), 409)
        assert "已召开" in body["detail"], (method, path, body)
    market = await invitation_of(past, MARKET)
    body = assert_error(await unit.post(f"/api/invitations/{market['id']}/reply", json={"reply": "attending",
                                        "attendee_name": "刘洋", "attendee_title": "副局长"}), 409)
    assert body["detail"] == "会议当前状态为“已召开”，不能回复参会情况。"
    response = await office.post(f"/api/invitations/{market['id']}/attendance", json={"attendance": "present"})
    assert response.status_code == 200 and response.json()["attendance"] == "present" and response.json()["signed_in_at"]


async def test_invitations_add_remove_sign_in_and_revoke(api):
    office = await api("office")
    meeting = await notified_meeting(office)
    url = f"/api/meetings/{meeting['id']}/invitations"
    observer = await id_of(MemberUnit, "罗庄区应急管理局")
    response = await office.post(url, json={"unit": observer, "role": "observer"})
    assert response.status_code == 201, response.text
    added = response.json()
    assert (added["unit"], added["unit_name"], added["role"], added["meeting"]) == (observer, "罗庄区应急管理局", "observer", meeting["id"])
    assert added["notified_sequence"] is None and "token" not in added
    body = assert_error(await office.post(url, json={"unit": observer, "role": "member"}), 400)
    assert body["errors"] == {"unit": "该单位已在受邀名单中。"}
    body = assert_error(await office.post(url, json={"unit": 2**31 - 1, "role": "boss"}), 400)
    assert set(body["errors"]) == {"role"}
    body = assert_error(await office.post(url, json={"unit": 2**31 - 1, "role": "member"}), 400)
    assert body["errors"] == {"unit": "所选单位不存在或已撤销。"}
    assert (await office.get(f"/api/invitations/{added['id']}")).json() == added
    # Only the new unit is told.
    response = await office.post(f"/api/meetings/{meeting['id']}/notify")
    assert response.status_code == 200 and response.json()["notified"] == 1

    market = await invitation_of(meeting, MARKET)
    body = assert_error(await office.post(f"/api/invitations/{market['id']}/attendance", json={"attendance": "late"}), 400)
    assert body["errors"] == {"attendance": "请从列表中选择签到情况。"}
    body = assert_error(await office.post(f"/api/invitations/{market['id']}/attendance", json={"attendance": "absent"}), 409)
    assert body["detail"].startswith("会议当天（")  # sign-in opens on the meeting's day
    await Meeting.update({Meeting.starts_at: Meeting.starts_at - dt.timedelta(days=40),
                          Meeting.ends_at: Meeting.ends_at - dt.timedelta(days=40)}).where(Meeting.id == meeting["id"])
    response = await office.post(f"/api/invitations/{market['id']}/attendance", json={"attendance": "absent"})
    assert response.status_code == 200 and response.json()["attendance"] == "absent"
    assert response.json()["signed_in_at"] is None

    sent = await sent_reply_token(market["id"])
    assert sent and (await office.get(f"/r/{sent}")).status_code == 200
    response = await office.post(f"/api/invitations/{market['id']}/revoke")
    assert response.status_code == 200, response.text
    assert "token" not in response.json() and response.json()["notified_sequence"] is None
    assert (await office.get(f"/r/{sent}")).status_code == 404  # the old link is dead

    assert (await office.delete(f"/api/invitations/{added['id']}")).status_code == 204
    assert_error(await office.get(f"/api/invitations/{added['id']}"), 404)
    assert_error(await office.delete(f"/api/invitations/{added['id']}"), 404)
    uninvited = await Notification.select(Notification.event).where(
        (Notification.event == "meeting_uninvited") & (Notification.entity_id == meeting["id"]))
    assert len(uninvited) == 1


async def test_a_unit_sees_and_answers_only_its_own_invitation(api):
    office, unit, police = await api("office"), await api("unit"), await api("unit_police")
    meeting = await notified_meeting(office)
    market, other = await invitation_of(meeting, MARKET), await invitation_of(meeting, POLICE)
    seen = (await unit.get(f"/api/meetings/{meeting['id']}")).json()
    assert [i["id"] for i in seen["invitations"]] == [market["id"]]
    assert "token" not in seen["invitations"][0] and seen["counts"] is None
    body = assert_error(await unit.post(f"/api/invitations/{market['id']}/reply", json={"reply": "attending"}), 400)
    assert body["errors"] == {"attendee_name": "请填写参会人姓名。", "attendee_title": "请填写参会人职务。"}
    body = assert_error(await unit.post(f"/api/invitations/{market['id']}/reply", json={"reply": "maybe"}), 400)
    assert body["errors"] == {"reply": "请从列表中选择参会情况。"}
    response = await unit.post(f"/api/invitations/{market['id']}/reply",
                               json={"reply": "attending", "attendee_name": "刘洋", "attendee_title": "副局长"})
    assert response.status_code == 200, response.text
    answered = response.json()
    assert (answered["reply"], answered["attendee_name"], answered["attendee_title"]) == ("attending", "刘洋", "副局长")
    assert answered["replied_at"] and "token" not in answered
    assert (await unit.get(f"/api/invitations/{market['id']}")).json() == answered
    # Changing the answer: leave, with a reason; the attendee is cleared.
    response = await unit.post(f"/api/invitations/{market['id']}/reply", json={"reply": "leave", "leave_reason": "出差"})
    assert response.status_code == 200 and response.json()["attendee_name"] == "" and response.json()["leave_reason"] == "出差"
    # Another unit's invitation is not found, to read or to answer.
    assert_error(await unit.get(f"/api/invitations/{other['id']}"), 404)
    body = assert_error(await unit.post(f"/api/invitations/{other['id']}/reply", json={"reply": "leave", "leave_reason": "x"}), 404)
    assert "无权" in body["detail"]
    response = await police.post(f"/api/invitations/{other['id']}/reply",
                                 json={"reply": "delegated", "attendee_name": "马超", "attendee_title": "副所长"})
    assert response.status_code == 200 and response.json()["reply"] == "delegated"
    # The office and the convenor see every reply; only the office sees the links.
    full = (await office.get(f"/api/meetings/{meeting['id']}")).json()
    assert full["counts"]["replied"] == 2 and full["counts"]["leave"] == 1 and full["counts"]["attending"] == 1
    convenor = (await (await api("convenor")).get(f"/api/meetings/{meeting['id']}")).json()
    assert len(convenor["invitations"]) == len(full["invitations"]) and convenor["counts"] == full["counts"]
    assert all("token" not in i for i in convenor["invitations"])
    assert (await (await api("convenor")).get(f"/api/invitations/{market['id']}")).json()["reply"] == "leave"
    street = (await (await api("street")).get(f"/api/meetings/{meeting['id']}")).json()
    assert street["invitations"] == [] and street["counts"] is None
    # Not yet notified: the unit's invitation to a draft is not there to answer.
    draft = await new_meeting(office)
    draft_market = await invitation_of(draft, MARKET)
    assert_error(await unit.post(f"/api/invitations/{draft_market['id']}/reply", json={"reply": "leave", "leave_reason": "x"}), 404)
    assert_error(await unit.get(f"/api/invitations/{draft_market['id']}"), 404)
    assert_error(await unit.get(f"/api/meetings/{draft['id']}"), 404)
    # Only units answer through the API (the office records attendance instead).
    assert_error(await office.post(f"/api/invitations/{market['id']}/reply", json={"reply": "leave", "leave_reason": "x"}), 403)
    # A unit's list: the meetings it is invited to.
    listed = (await unit.get("/api/meetings", params={"per_page": 200})).json()["items"]
    assert meeting["id"] in {m["id"] for m in listed} and draft["id"] not in {m["id"] for m in listed}
    assert all(m["conference_name"] != LUOZHUANG_STREET and m["status"] != "draft" for m in listed)


async def test_tokens_reach_nobody_through_the_api(api):
    office = await api("office")
    meeting = await notified_meeting(office)
    tokens = [await sent_reply_token(i["id"]) for i in meeting["invitations"]]
    assert tokens and all(tokens)
    market = await invitation_of(meeting, MARKET)
    for username, urls in (
        ("office", [f"/api/meetings/{meeting['id']}", f"/api/invitations/{market['id']}"]),
        ("admin", [f"/api/meetings/{meeting['id']}", f"/api/invitations/{market['id']}"]),
        ("convenor", [f"/api/meetings/{meeting['id']}", f"/api/invitations/{market['id']}", "/api/meetings"]),
        ("street", [f"/api/meetings/{meeting['id']}", "/api/meetings", "/api/notifications"]),
        ("unit", [f"/api/meetings/{meeting['id']}", f"/api/invitations/{market['id']}", "/api/notifications"]),
    ):
        client = await api(username)
        for url in urls:
            response = await client.get(url)
            assert response.status_code == 200, (username, url, response.text)
            assert not any(token in response.text for token in tokens), (username, url)
    # The unit's notice carries its personal link: masked in the API.
    notices = (await (await api("unit")).get("/api/notifications")).json()
    assert any(n["subject"] == f"【会议通知】{meeting['title']}" and "/r/…" in n["body"] for n in notices)


async def test_meeting_scope_and_roles(api):
    office = await api("office")
    meeting = await notified_meeting(office)
    url = f"/api/meetings/{meeting['id']}"
    other_office, other_street = await api("office_luozhuang"), await api("street_luozhuang")
    for client in (other_office, other_street):
        assert "无权" in assert_error(await client.get(url), 404)["detail"]
    titles = {m["title"] for m in (await other_office.get("/api/meetings", params={"per_page": 200})).json()["items"]}
    assert meeting["title"] not in titles
    assert (await other_office.get("/api/meetings", params={"q": meeting["title"]})).json()["total"] == 0
    assert_error(await other_office.patch(url, json={"version": 1, "location": "越权"}), 404)
    for action in ("notify", "hold"):
        assert_error(await other_office.post(f"{url}/{action}"), 404)
    assert_error(await other_office.post(f"{url}/cancel", json={"reason": "越权"}), 404)
    assert_error(await other_office.post(f"{url}/invitations", json={"unit": 1, "role": "member"}), 404)
    market = await invitation_of(meeting, MARKET)
    for action, payload in (("attendance", {"attendance": "present"}), ("revoke", None)):
        assert_error(await other_office.post(f"/api/invitations/{market['id']}/{action}", json=payload), 404)
    assert_error(await other_office.delete(f"/api/invitations/{market['id']}"), 404)
    assert_error(await other_office.get(f"/api/invitations/{market['id']}"), 404)
    # The 兰山 street, convenor and units read it; a unit not invited does not.
    for username in ("street", "convenor", "unit", "admin"):
        assert (await (await api(username)).get(url)).status_code == 200, username
    lonely = await new_meeting(office)
    for invitation in lonely["invitations"]:
        if invitation["unit_name"] == MARKET:
            assert (await office.delete(f"/api/invitations/{invitation['id']}")).status_code == 204
    assert (await office.post(f"/api/meetings/{lonely['id']}/notify")).status_code == 200
    assert_error(await (await api("unit")).get(f"/api/meetings/{lonely['id']}"), 404)
    assert (await (await api("unit_police")).get(f"/api/meetings/{lonely['id']}")).status_code == 200
    # Managing meetings is the office's; the others are refused whatever the meeting.
    for username in ("convenor", "street", "unit"):
        client = await api(username)
        assert_error(await client.post("/api/meetings", json={}), 403)
        assert_error(await client.patch(url, json={"version": 1}), 403)
        for action in ("notify", "hold", "cancel"):
            assert_error(await client.post(f"{url}/{action}", json={}), 403)
        assert_error(await client.post(f"{url}/invitations", json={}), 403)
        assert_error(await client.delete(f"/api/invitations/{market['id']}"), 403)
        assert_error(await client.post(f"/api/invitations/{market['id']}/attendance", json={}), 403)
        assert_error(await client.post(f"/api/invitations/{market['id']}/revoke"), 403)
    assert_error(await (await api("street")).get(f"/api/invitations/{market['id']}"), 403)
    assert_error(await (await api("street")).get("/api/meetings/plenaries"), 403)
    assert_error(await (await api("unit")).get("/api/meetings/plenaries"), 403)
    assert_error(await office.get("/api/meetings/2147483647"), 404)


async def test_plenary_overview(api):
    rows = (await (await api("office")).get("/api/meetings/plenaries")).json()
    by_name = {r["name"]: r for r in rows}
    assert LANSHAN_STREET in by_name and LUOZHUANG_STREET not in by_name
    lanshan = by_name[LANSHAN_STREET]
    assert lanshan["state"] in ("done", "planned", "due", "overdue") and lanshan["next_title"].endswith("次全体会议")
    assert lanshan["last"] is None or lanshan["last"]["status"] in ("held", "minutes_in_review", "minutes_published")
    convenor = (await (await api("convenor")).get("/api/meetings/plenaries")).json()
    assert [r["name"] for r in convenor] == [LANSHAN_STREET]


async def test_meeting_list_pages_and_runs_a_constant_number_of_queries(api):
    office = await api("office")
    tag = unique("翻页会议")
    for n in range(3):
        await new_meeting(office, title=f"{tag}-{n}", date=(dt.date.today() + dt.timedelta(days=40 + n)).isoformat())
    first = (await office.get("/api/meetings", params={"q": tag, "per_page": 2})).json()
    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)
    assert [m["title"] for m in first["items"]] == [f"{tag}-2", f"{tag}-1"]  # newest first
    beyond = (await office.get("/api/meetings", params={"q": tag, "per_page": 2, "page": 9})).json()
    assert beyond["page"] == 2 and [m["title"] for m in beyond["items"]] == [f"{tag}-0"]
    ascending = (await office.get("/api/meetings", params={"q": tag, "desc": "false"})).json()
    assert [m["title"] for m in ascending["items"]] == [f"{tag}-0", f"{tag}-1", f"{tag}-2"]
    by_title = (await office.get("/api/meetings", params={"q": tag, "sort": "title", "desc": "true"})).json()
    assert [m["title"] for m in by_title["items"]] == [f"{tag}-2", f"{tag}-1", f"{tag}-0"]
    for q in ("%", "_", "\x00", "'; drop table meeting; --"):
        assert (await office.get("/api/meetings", params={"q": q})).status_code == 200, q

    async def queries(per_page: int) -> int:
        with count_queries() as seen:
            response = await office.get("/api/meetings", params={"per_page": per_page})
            assert response.status_code == 200 and len(response.json()["items"]) == min(per_page, response.json()["total"])
        return len(seen)

    assert (await office.get("/api/meetings", params={"per_page": 1})).json()["total"] > 5
    assert await queries(1) == await queries(200)


# ---------------------------------------------------------------- special meeting requests


async def test_special_requests_request_approve_and_decline(api):
    street, convenor, office = await api("street"), await api("convenor"), await api("office")
    later = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    body = assert_error(await street.post("/api/special-requests", json={}), 400)
    assert body["errors"] == {"title": "请填写会议名称。", "reason": "请填写提请事由。", "proposed_date": "请填写建议日期。",
                              "items": "请选择至少一项提请会议研究的议题。"}
    item = (await accepted_item(street, office))["id"]
    body = assert_error(await street.post("/api/special-requests", json={
        "title": "t", "reason": "x", "proposed_date": yesterday(), "items": [item]}), 400)
    assert body["errors"] == {"proposed_date": "建议日期不能早于今天。"}
    reason = unique("提请事由")
    response = await street.post("/api/special-requests", json={
        "title": "关于路灯维修的专题会议", "reason": reason, "proposed_items": "事项一", "proposed_date": later, "items": [item]})
    assert response.status_code == 201, response.text
    req = response.json()
    assert (req["status"], req["street_name"], req["conference_name"], req["requested_by_name"], req["meeting"]) == (
        "requested", "兰山街道", LANSHAN_STREET, "兰山街道党工委", None)
    assert req["title"] == "关于路灯维修的专题会议" and req["items"] == [item]
    url = f"/api/special-requests/{req['id']}"
    assert (await street.get(url)).json() == req and (await office.get(url)).json() == req
    listed = (await street.get("/api/special-requests", params={"q": reason})).json()
    assert [r["id"] for r in listed["items"]] == [req["id"]]
    assert (await office.get("/api/special-requests", params={"q": reason, "status": "requested"})).json()["total"] == 1
    assert (await office.get("/api/special-requests", params={"q": reason, "status": "approved"})).json()["total"] == 0
    # Out of scope: 404; wrong role: 403.
    for username in ("street_luozhuang", "office_luozhuang"):
        client = await api(username)
        assert_error(await client.get(url), 404)
        assert (await client.get("/api/special-requests", params={"q": reason})).json()["total"] == 0
    assert_error(await (await api("unit")).get(url), 403)
    assert_error(await (await api("unit")).get("/api/special-requests"), 403)
    for client in (office, await api("unit")):
        assert_error(await client.post("/api/special-requests", json={"reason": "x", "proposed_date": later}), 403)
    for client in (office, street):
        assert_error(await client.post(f"{url}/approve", json={}), 403)
    # The convenor approves: a draft special meeting is made; a second decision is refused.
    response = await convenor.post(f"{url}/approve", json={"comment": "同意"})
    assert response.status_code == 200, response.text
    approved = response.json()
    assert approved["status"] == "approved" and approved["decided_by_name"] == "王建国" and approved["meeting"]
    meeting = (await office.get(f"/api/meetings/{approved['meeting']}")).json()
    assert (meeting["kind"], meeting["status"], meeting["date"]) == ("special", "draft", later)
    assert meeting["title"] == "关于路灯维修的专题会议"
    for action in ("approve", "decline"):
        body = assert_error(await convenor.post(f"{url}/{action}", json={"comment": "再审"}), 409)
        assert body["detail"] == "该提请已经审批过了。"
    # Declining needs a comment; the street is told.
    other = (await street.post("/api/special-requests", json={"title": "t", "reason": unique("提请"), "proposed_date": later,
                                                              "items": [(await accepted_item(street, office))["id"]]})).json()
    body = assert_error(await convenor.post(f"/api/special-requests/{other['id']}/decline", json={}), 400)
    assert body["errors"] == {"comment": "请填写审批意见。"}
    response = await convenor.post(f"/api/special-requests/{other['id']}/decline", json={"comment": "请先自行协调"})
    assert response.status_code == 200 and response.json()["status"] == "declined" and response.json()["meeting"] is None
    notices = (await street.get("/api/notifications")).json()
    assert notices[0]["subject"] == "专题会议提请未获同意" and "请先自行协调" in notices[0]["body"]
    # The 兰山 convenor cannot decide a 罗庄 request.
    street_lz = await api("street_luozhuang")
    lz_item = (await accepted_item(street_lz, await api("office_luozhuang")))["id"]
    lz = (await street_lz.post("/api/special-requests", json={
        "title": "t", "reason": unique("罗庄"), "proposed_date": later, "items": [lz_item]})).json()
    assert_error(await convenor.post(f"/api/special-requests/{lz['id']}/approve", json={}), 404)


# ---------------------------------------------------------------- agenda items


async def test_item_lifecycle_from_draft_to_carried_over(api):
    street, office = await api("street"), await api("office")
    market, police = await id_of(MemberUnit, MARKET), await id_of(MemberUnit, POLICE)
    draft = await new_item(street, units=[police, market, market])
    assert (draft["status"], draft["street_name"], draft["conference_name"], draft["age_days"]) == (
        "draft", "兰山街道", LANSHAN_STREET, None)
    assert [u["name"] for u in draft["units"]] == sorted([MARKET, POLICE], key=sort_key)  # pinyin order
    assert draft["actions"]["submit"] and draft["actions"]["edit"] and not draft["actions"]["accept"]
    url = f"/api/items/{draft['id']}"
    assert_error(await office.get(url), 404)  # someone else's draft
    response = await street.patch(url, json={"version": 1, "title": draft["title"] + "（修改）", "units": [market]})
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["version"] == 2 and [u["id"] for u in patched["units"]] == [market]
    assert patched["description"] == draft["description"] and patched["urgency"] == draft["urgency"]
    assert assert_error(await street.patch(url, json={"version": 1, "urgency": "urgent"}), 409)["detail"] == STALE
    body = assert_error(await street.patch(url, json={"version": 2, "category": "bogus", "title": None}), 400)
    assert body["errors"] == {"category": "请从列表中选择类别。", "title": "请填写议题名称。"}

    response = await street.post(f"{url}/submit")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted" and response.json()["age_days"] == 0
    body = assert_error(await street.patch(url, json={"version": 3, "urgency": "urgent"}), 409)
    assert "已提交的议题由办公室处理" in body["detail"]
    response = await office.patch(url, json={"version": 3, "urgency": "urgent"})  # the office may correct it
    assert response.status_code == 200 and response.json()["urgency"] == "urgent"
    response = await office.post(f"{url}/accept")
    assert response.status_code == 200 and response.json()["status"] == "accepted"

    # On a meeting: scheduled last on its agenda; moved; decided after the meeting; carried over.
    meeting = await notified_meeting(office, date=yesterday())
    other = await accepted_item(street, office)
    for item_id in (other["id"], draft["id"]):
        response = await office.post(f"/api/items/{item_id}/schedule", json={"meeting": meeting["id"]})
        assert response.status_code == 200, response.text
    scheduled = response.json()
    assert (scheduled["status"], scheduled["meeting"], scheduled["meeting_title"], scheduled["position"]) == (
        "scheduled", meeting["id"], meeting["title"], 2)
    response = await office.post(f"{url}/move", json={"direction": "up"})
    assert response.status_code == 200 and response.json()["position"] == 1
    agenda = (await office.get(f"/api/meetings/{meeting['id']}")).json()["agenda"]
    assert [(a["id"], a["position"]) for a in agenda] == [(draft["id"], 1), (other["id"], 2)]
    assert all(a["age_days"] == 0 and a["meetings_waited"] == 0 for a in agenda)
    body = assert_error(await office.post(f"{url}/outcome", json={"outcome": "resolved"}), 409)
    assert body["detail"] == "会议召开后才能记录议题的研究结果。"
    assert (await office.post(f"/api/meetings/{meeting['id']}/hold")).status_code == 200
    response = await office.post(f"{url}/outcome", json={"outcome": "discussed", "note": "原则同意"})
    assert response.status_code == 200 and response.json()["status"] == "discussed"
    response = await office.post(f"{url}/outcome", json={"outcome": "deferred", "note": "待方案成熟后再议"})
    assert response.status_code == 200, response.text
    deferred = response.json()
    assert (deferred["status"], deferred["meeting"], deferred["meetings_waited"]) == ("deferred", None, 1)
    assert [(m["meeting"], m["meeting_title"], m["outcome"], m["note"]) for m in deferred["meetings"]] == [
        (meeting["id"], meeting["title"], "deferred", "待方案成熟后再议")]
    assert deferred["meetings"][0]["decided_at"] and deferred["meetings"][0]["starts_at"]
    decided = (await office.get(f"/api/meetings/{meeting['id']}")).json()["decided"]
    assert (draft["id"], "deferred", "待方案成熟后再议") in [(d["id"], d["outcome"], d["note"]) for d in decided]
    # Carried over to the next meeting: the history keeps both.
    nxt = await new_meeting(office)
    response = await office.post(f"{url}/schedule", json={"meeting": nxt["id"]})
    assert response.status_code == 200, response.text
    assert [(m["meeting"], m["outcome"]) for m in response.json()["meetings"]] == [(meeting["id"], "deferred"), (nxt["id"], "pending")]
    listed = (await street.get("/api/items", params={"q": draft["title"]})).json()["items"]
    assert [(i["id"], i["meetings_waited"], i["age_days"], i["meeting"]) for i in listed] == [(draft["id"], 1, 0, nxt["id"])]
    events = [n["event"] for n in (await street.get("/api/notifications")).json()[:3]]
    assert events[0] == "item_scheduled"


async def test_office_items_merge_and_return(api):
    street, office = await api("street"), await api("office")
    lanshan = await conference_id(LANSHAN_STREET)
    body = assert_error(await office.post("/api/items", json={"title": "x", "description": "y", "category": "other",
                                                             "urgency": "normal"}), 400)
    assert body["errors"] == {"conference": "请选择联席会议。"}
    body = assert_error(await office.post("/api/items", json={"conference": await conference_id(LUOZHUANG_STREET)}), 400)
    assert body["errors"]["conference"] == "所选联席会议不存在。" and "title" in body["errors"]
    own = await new_item(office, conference=lanshan, submit=True, units=[])
    assert own["street"] is None and own["status"] == "submitted" and own["units"] == []

    first = await new_item(street, submit=True, units=[await id_of(MemberUnit, POLICE)])
    second = await new_item(street, submit=True)
    body = assert_error(await office.post(f"/api/items/{first['id']}/merge", json={"into": first["id"]}), 400)
    assert body["errors"] == {"into": "只能合并到本联席会议的另一个议题。"}
    assert set(assert_error(await office.post(f"/api/items/{first['id']}/merge", json={}), 400)["errors"]) == {"into"}
    response = await office.post(f"/api/items/{first['id']}/merge", json={"into": second["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "merged" and response.json()["merged_into"] == second["id"]
    target = (await office.get(f"/api/items/{second['id']}")).json()
    assert {u["name"] for u in target["units"]} == {MARKET, POLICE}
    assert [m["id"] for m in target["merged_from"]] == [first["id"]]

    url = f"/api/items/{second['id']}"
    assert assert_error(await office.post(f"{url}/return", json={}), 400)["errors"] == {"reason": "请填写退回理由。"}
    response = await office.post(f"{url}/return", json={"reason": "请补充材料"})
    assert response.status_code == 200 and response.json()["status"] == "returned"
    seen = (await street.get(url)).json()
    assert seen["return_reason"] == "请补充材料" and seen["actions"]["edit"] and seen["actions"]["submit"]
    response = await street.post(f"{url}/submit")
    assert response.status_code == 200 and response.json()["status"] == "submitted" and response.json()["return_reason"] == ""


async def test_item_transitions_in_the_wrong_state_answer_409(api):
    street, office = await api("street"), await api("office")
    lanshan = await conference_id(LANSHAN_STREET)
    meeting = await new_meeting(office)
    draft = await new_item(office, conference=lanshan)  # the office's own draft: it sees it
    submitted = await new_item(street, submit=True)
    target = await accepted_item(street, office)
    cases = [
        (draft, "accept", None, "不能受理"), (draft, "return", {"reason": "x"}, "不能退回"),
        (draft, "merge", {"into": target["id"]}, "不能合并"), (draft, "schedule", {"meeting": meeting["id"]}, "不能列入议程"),
        (draft, "outcome", {"outcome": "resolved"}, "不能记为“已解决”"), (draft, "move", {"direction": "up"}, "不能调整顺序"),
        (submitted, "submit", None, "不能提交"), (submitted, "schedule", {"meeting": meeting["id"]}, "不能列入议程"),
        (submitted, "move", {"direction": "down"}, "不能调整顺序"), (target, "accept", None, "不能受理"),
        (target, "outcome", {"outcome": "discussed"}, "不能记为“已研究”"),
    ]
    for item, action, payload, words in cases:
        body = assert_error(await office.post(f"/api/items/{item['id']}/{action}", json=payload), 409)
        assert words in body["detail"] and body["detail"].startswith("议题当前状态为"), (item["status"], action, body)
    body = assert_error(await office.patch(f"/api/items/{target['id']}", json={"version": target["version"], "title": "改"}), 409)
    assert body["detail"] == "议题当前状态为“已受理”，不能修改。"
    # Scheduled on a meeting not yet held: the agenda can change, the outcome cannot be recorded.
    response = await office.post(f"/api/items/{target['id']}/schedule", json={"meeting": meeting["id"]})
    assert response.status_code == 200, response.text
    assert_error(await office.post(f"/api/items/{target['id']}/return", json={"reason": "x"}), 409)
    assert_error(await office.post(f"/api/items/{target['id']}/schedule", json={"meeting": meeting["id"]}), 409)
    body = assert_error(await office.post(f"/api/items/{target['id']}/move", json={"direction": "sideways"}), 400)
    assert body["errors"] == {"direction": "请选择上移或下移。"}
    # Only meetings of the item's conference, not yet held, take items.
    item = await accepted_item(street, office)
    lz_meeting = await new_meeting(await api("office_luozhuang"), LUOZHUANG_STREET)
    for meeting_id in (lz_meeting["id"], 2**31 - 1):
        body = assert_error(await office.post(f"/api/items/{item['id']}/schedule", json={"meeting": meeting_id}), 400)
        assert body["errors"] == {"meeting": "只能列入本联席会议的会议。"}


async def test_item_scope_and_roles(api):
    street, office = await api("street"), await api("office")
    item = await new_item(street, submit=True)
    draft = await new_item(street)
    url = f"/api/items/{item['id']}"
    mine = (await street.get("/api/items", params={"per_page": 200})).json()
    assert mine["total"] > 0 and {i["street_name"] for i in mine["items"]} == {"兰山街道"}
    assert draft["id"] in {i["id"] for i in mine["items"]}
    listed = (await office.get("/api/items", params={"per_page": 200})).json()["items"]
    assert item["id"] in {i["id"] for i in listed} and draft["id"] not in {i["id"] for i in listed}
    assert all(i["age_days"] is not None for i in listed if i["status"] != "draft")
    for username in ("street_luozhuang", "office_luozhuang"):
        client = await api(username)
        assert "无权" in assert_error(await client.get(url), 404)["detail"]
        assert item["id"] not in {i["id"] for i in (await client.get("/api/items", params={"per_page": 200})).json()["items"]}
        assert_error(await client.post(f"{url}/submit"), 404)
        assert_error(await client.patch(url, json={"version": 1, "title": "越权"}), 404)
    assert_error(await (await api("office_luozhuang")).post(f"{url}/accept"), 404)
    convenor = await api("convenor")
    assert (await convenor.get(url)).json()["actions"]["accept"] is False
    assert item["id"] in {i["id"] for i in (await convenor.get("/api/items", params={"per_page": 200})).json()["items"]}
    assert_error(await convenor.get(f"/api/items/{draft['id']}"), 404)
    for client in (convenor, street):
        for action, payload in (("accept", None), ("return", {"reason": "x"}), ("merge", {"into": 1}),
                                ("schedule", {"meeting": 1}), ("outcome", {"outcome": "resolved"}), ("move", {"direction": "up"})):
            assert_error(await client.post(f"{url}/{action}", json=payload), 403)
    assert_error(await convenor.post("/api/items", json={}), 403)
    assert_error(await convenor.patch(url, json={"version": 1}), 403)
    unit = await api("unit")
    for response in (await unit.get("/api/items"), await unit.get(url), await unit.post("/api/items", json={})):
        assert_error(response, 403)
    assert_error(await office.get("/api/items/2147483647"), 404)


async def test_item_list_filters_sorts_and_ages(api):
    street = await api("street")
    tag = unique("排序议题")
    for n, urgency in enumerate(("normal", "critical", "urgent")):
        await new_item(street, title=f"{tag}-{n}", urgency=urgency, submit=True)
    await new_item(street, title=f"{tag}-draft")
    everything = (await street.get("/api/items", params={"q": tag})).json()
    assert everything["total"] == 4
    # Newest first by default (a draft by its creation time).
    assert [i["title"] for i in everything["items"]] == [f"{tag}-draft", f"{tag}-2", f"{tag}-1", f"{tag}-0"]
    oldest = (await street.get("/api/items", params={"q": tag, "desc": "false"})).json()
    assert [i["title"] for i in oldest["items"]] == [f"{tag}-0", f"{tag}-1", f"{tag}-2", f"{tag}-draft"]
    by_urgency = (await street.get("/api/items", params={"q": tag, "status": "submitted", "sort": "urgency", "desc": "true"})).json()
    assert [i["urgency"] for i in by_urgency["items"]] == ["critical", "urgent", "normal"]
    assert (await street.get("/api/items", params={"q": tag, "urgency": "urgent"})).json()["total"] == 1
    by_title = (await street.get("/api/items", params={"q": tag, "sort": "title", "per_page": 2, "page": 2})).json()
    assert [i["title"] for i in by_title["items"]] == [f"{tag}-2", f"{tag}-draft"]
    assert {(i["title"].endswith("draft"), i["age_days"]) for i in everything["items"]} == {(True, None), (False, 0)}
    for q in ("%", "_", "\x00", "'; drop table agenda_item; --"):
        assert (await street.get("/api/items", params={"q": q})).status_code == 200, q


# ---------------------------------------------------------------- notifications


async def test_notifications_are_the_callers_own(api):
    office, street = await api("office"), await api("street")
    item = await new_item(street, submit=True)
    await office.post(f"/api/items/{item['id']}/return", json={"reason": "请补充现场照片"})
    notices = (await street.get("/api/notifications")).json()
    assert notices[0]["event"] == "item_returned" and "请补充现场照片" in notices[0]["body"]
    assert notices == sorted(notices, key=lambda n: n["id"], reverse=True) and len(notices) <= 50
    assert item["title"] not in (await (await api("street_luozhuang")).get("/api/notifications")).text
    police = (await (await api("unit_police")).get("/api/notifications")).json()
    market_ids = {r["id"] for r in await Notification.select(Notification.id).where(
        Notification.unit == await id_of(MemberUnit, MARKET))}
    assert police and not market_ids & {n["id"] for n in police}
    for username in ("office", "admin", "convenor"):
        assert_error(await (await api(username)).get("/api/notifications"), 403)


# ---------------------------------------------------------------- bad input


async def test_wrong_json_types_answer_400_in_chinese_never_500(api):
    office, street, unit, convenor = await api("office"), await api("street"), await api("unit"), await api("convenor")
    meeting = await notified_meeting(office)
    market = await invitation_of(meeting, MARKET)
    item = await new_item(street, submit=True)
    lanshan = await conference_id(LANSHAN_STREET)
    m, i, inv = f"/api/meetings/{meeting['id']}", f"/api/items/{item['id']}", f"/api/invitations/{market['id']}"
    cases = [
        (office, "POST", "/api/meetings", {"conference": "兰山", **meeting_form()}, {"conference": "联席会议应为整数。"}),
        (office, "POST", "/api/meetings", {"conference": lanshan, **meeting_form(), "kind": 1}, {"kind": "会议类型应为文本。"}),
        (office, "POST", "/api/meetings", {"conference": lanshan, **meeting_form(), "title": ["x"]}, {"title": "会议名称应为文本。"}),
        (office, "POST", "/api/meetings", {"conference": lanshan, **meeting_form(), "date": "2026-02-30"},
         {"date": "会议日期不是有效日期，请按 2026-11-29 的格式填写。"}),
        (office, "POST", "/api/meetings", {"conference": lanshan, **meeting_form(), "start_time": 900}, {"start_time": "开始时间应为文本。"}),
        (office, "POST", "/api/meetings", {"conference": lanshan, **meeting_form(), "presiding": "王建国"},
         {"presiding": "主持召集人应为整数。"}),
        (office, "POST", "/api/meetings", {"conference": lanshan, **meeting_form(), "room": "3"}, {"room": "不支持字段“room”。"}),
        (office, "PATCH", m, {"version": "one"}, {"version": "版本应为整数。"}),
        (office, "PATCH", m, {"version": 1, "location": {"a": 1}}, {"location": "会议地点应为文本。"}),
        (office, "PATCH", m, {}, {"version": "请填写版本。"}),
        (office, "POST", f"{m}/cancel", {"reason": False}, {"reason": "取消原因应为文本。"}),
        (office, "POST", f"{m}/invitations", {"unit": "x", "role": "member"}, {"unit": "单位应为整数。"}),
        (office, "POST", f"{inv}/attendance", {"attendance": 1}, {"attendance": "签到情况应为文本。"}),
        (unit, "POST", f"{inv}/reply", {"reply": ["attending"]}, {"reply": "参会情况应为文本。"}),
        (unit, "POST", f"{inv}/reply", {"reply": "leave", "leave_reason": 5}, {"leave_reason": "请假事由应为文本。"}),
        (street, "POST", "/api/special-requests", {"reason": 1, "proposed_date": "2026-01-01"}, {"reason": "提请事由应为文本。"}),
        (street, "POST", "/api/special-requests", {"reason": "x", "proposed_date": "明天"},
         {"proposed_date": "建议日期不是有效日期，请按 2026-11-29 的格式填写。"}),
        (convenor, "POST", "/api/special-requests/1/decline", {"comment": 3}, {"comment": "审批意见应为文本。"}),
        (street, "POST", "/api/items", {"title": 1}, {"title": "议题名称应为文本。"}),
        (street, "POST", "/api/items", {"units": "1,2"}, {"units": "提请单位应为JSON 数组。"}),
        (street, "POST", "/api/items", {"units": ["a"]}, {"units": "提请单位应为整数。"}),
        (street, "POST", "/api/items", {"submit": "yes"}, {"submit": "立即提交应为true 或 false。"}),
        (office, "POST", "/api/items", {"conference": [1]}, {"conference": "联席会议应为整数。"}),
        (street, "PATCH", i, {"version": 1, "urgency": 2}, {"urgency": "紧急程度应为文本。"}),
        (office, "POST", f"{i}/return", {"reason": 1}, {"reason": "退回理由应为文本。"}),
        (office, "POST", f"{i}/merge", {"into": "上一个"}, {"into": "合并到的议题应为整数。"}),
        (office, "POST", f"{i}/schedule", {"meeting": 1.5}, {"meeting": "会议应为整数。"}),
        (office, "POST", f"{i}/outcome", {"outcome": None, "note": 1}, {"note": "说明应为文本。"}),
        (office, "POST", f"{i}/move", {"direction": -1}, {"direction": "调整方向应为文本。"}),
    ]
    for client, method, url, payload, errors in cases:
        body = assert_error(await client.request(method, url, json=payload), 400)
        assert body.get("errors") == errors, (method, url, payload, body)
    for client, url in ((office, "/api/meetings"), (office, f"{m}/cancel"), (street, "/api/items"), (office, f"{i}/merge"),
                        (street, "/api/special-requests"), (unit, f"{inv}/reply")):
        for content in (b"", b"[1]", b'"text"', b"{bad json", b'{"reason": "\xff"}'):
            response = await client.post(url, content=content, headers={"Content-Type": "application/json"})
            assert_error(response, 400)
    # Ids too large for a 32-bit serial are refused, never passed to the database.
    big = 2**40
    for client, url, payload, field in (
        (street, "/api/items", {"title": "x", "description": "y", "category": "other", "urgency": "normal", "units": [big]}, "units"),
        (office, f"{m}/invitations", {"unit": big, "role": "member"}, "unit"),
        (office, f"{i}/merge", {"into": big}, "into"),
        (office, f"{i}/schedule", {"meeting": big}, "meeting"),
        (office, "/api/meetings", {"conference": lanshan, **meeting_form(), "presiding": big}, "presiding"),
    ):
        body = assert_error(await client.post(url, json=payload), 400)
        assert field in body["errors"], (url, body)
    for url, params, field in (
        ("/api/meetings", {"conference": "x"}, "conference"), ("/api/meetings", {"kind": "meeting"}, "kind"),
        ("/api/meetings", {"status": "done"}, "status"), ("/api/meetings", {"start": "2026-13-01"}, "start"),
        ("/api/meetings", {"page": 0}, "page"), ("/api/meetings", {"per_page": 201}, "per_page"),
        ("/api/meetings", {"sort": "uid"}, "sort"), ("/api/meetings", {"conference": 2**40}, "conference"),
        ("/api/items", {"status": "open"}, "status"), ("/api/items", {"sort": "password"}, "sort"),
        ("/api/items", {"street": "兰山"}, "street"), ("/api/special-requests", {"status": "open"}, "status"),
    ):
        body = assert_error(await office.get(url, params=params), 400)
        assert field in body["errors"] and is_chinese(body["errors"][field]), (url, params, body)
    assert (await office.get("/api/meetings", params={"kind": "meeting"})).json()["errors"]["kind"] == "会议类型不是可选的值。"
    assert (await office.get("/api/items", params={"status": "open"})).json()["errors"]["status"] == "议题状态不是可选的值。"
    for url in ("/api/meetings/abc", "/api/items/99999999999", "/api/invitations/0", "/api/special-requests/-1"):
        response = await office.get(url)
        assert response.status_code in (400, 404) and is_chinese(response.json()["detail"]), (url, response.text)


# ---------------------------------------------------------------- OpenAPI


async def test_openapi_lists_the_meeting_and_item_paths(anon_api):
    schema = (await anon_api.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        "/api/meetings": {"get", "post"}, "/api/meetings/plenaries": {"get"}, "/api/meetings/{meeting_id}": {"get", "patch"},
        "/api/meetings/{meeting_id}/notify": {"post"}, "/api/meetings/{meeting_id}/hold": {"post"},
        "/api/meetings/{meeting_id}/cancel": {"post"}, "/api/meetings/{meeting_id}/invitations": {"post"},
        "/api/invitations/{invitation_id}": {"get", "delete"}, "/api/invitations/{invitation_id}/attendance": {"post"},
        "/api/invitations/{invitation_id}/revoke": {"post"}, "/api/invitations/{invitation_id}/reply": {"post"},
        "/api/special-requests": {"get", "post"}, "/api/special-requests/{request_id}": {"get"},
        "/api/special-requests/{request_id}/approve": {"post"}, "/api/special-requests/{request_id}/decline": {"post"},
        "/api/items": {"get", "post"}, "/api/items/{item_id}": {"get", "patch"},
        **{f"/api/items/{{item_id}}/{action}": {"post"} for action in ("submit", "accept", "return", "merge", "schedule",
                                                                     "outcome", "move")},
        "/api/notifications": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert set(paths[path]) >= methods, (path, set(paths[path]))
        for method in methods:
            operation = paths[path][method]
            assert operation["security"] == [{"BearerToken": []}], (method, path)
            assert is_chinese(operation["summary"]), (method, path)
    components = schema["components"]["schemas"]
    assert components["MeetingPatch"]["required"] == ["version"] and components["ItemPatch"]["required"] == ["version"]
    assert {"conference", "kind", "title", "date", "start_time", "end_time", "location", "presiding", "notes", "requirements",
            "reply_deadline"} == set(components["MeetingIn"]["properties"])
    assert {"title", "description", "category", "urgency", "units", "conference", "submit"} == set(components["ItemIn"]["properties"])
    assert "token" not in components["InvitationOut"].get("required", [])
    assert {"age_days", "meetings_waited"} <= set(components["ItemRow"]["properties"])
    listing = {p["name"] for p in paths["/api/meetings"]["get"]["parameters"]}
    assert listing == {"conference", "kind", "status", "start", "end", "q", "page", "per_page", "sort", "desc"}
    assert "204" in paths["/api/invitations/{invitation_id}"]["delete"]["responses"]

