"""Invitation replies through HTTP: the personal link (no password) and the unit's own pages.

A unit answers attending / leave / delegated; bad input is shown beside its field with the input
kept; a link answers only its own invitation and dies with revocation or cancellation; replies
close once the meeting is held; a unit account sees only its own invitations."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.audit.tables import AuditEvent
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle, services
from conference.meetings.tables import Invitation, Meeting
from conference.registry.tables import Conference, MemberUnit
from conference.timefmt import today
from tests.conftest import field_error, field_value, html, post_form
from tests.tokens import sent_reply_token

LANSHAN_CONFERENCE = "兰山街道城市基层党建联席会议"
MARKET = "兰山区市场监管局"  # the demo account "unit"
POLICE = "兰山派出所"  # the demo account "unit_police"


async def actor(username: str) -> Actor:
    return actor_from_row(await User.select(*ACTOR_COLUMNS).where(User.username == username).first())


async def unit_id(name: str) -> int:
    return int((await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first())["id"])


async def make_meeting(*, day: dt.date | str = "2030-11-29", notify: bool = True, location: str = "区委党校三楼会议室") -> dict[str, Any]:
    """A plenary meeting of 兰山街道's conference, created (and notified) by the 兰山区 office."""
    office = await actor("office")
    conference = (await Conference.select(Conference.id).where(Conference.name == LANSHAN_CONFERENCE).first())["id"]
    title = f"回执测试会议{uuid.uuid4().hex[:8]}"
    meeting_id = await services.create_meeting(office, conference, {
        "kind": "plenary", "title": title, "date": str(day), "start_time": "09:00", "end_time": "11:00", "location": location})
    if notify:
        await lifecycle.notify_meeting(office, meeting_id)
    return await Meeting.select().where(Meeting.id == meeting_id).first()


async def invitation(meeting_id: int, unit_name: str) -> dict[str, Any]:
    """The invitation row and, as `token`, the link its unit received (the table holds only a hash)."""
    row = await Invitation.select().where((Invitation.meeting == meeting_id) & (Invitation.unit == await unit_id(unit_name))).first()
    return {**row, "token": await sent_reply_token(row["id"])}


async def fresh(invitation_id: int) -> dict[str, Any]:
    return await Invitation.select().where(Invitation.id == invitation_id).first()


async def browser_post(client, url: str, data: dict[str, str]):
    """Open the page first (as the e-mail link would), then post its form with the CSRF token."""
    assert (await client.get(url)).status_code == 200
    return await post_form(client, url, data)


ATTENDING = {"reply": "attending", "attendee_name": "赵明", "attendee_title": "副局长"}


async def test_link_shows_the_meeting_and_the_form(anon):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    response = await anon.get(f"/r/{inv['token']}")
    assert response.status_code == 200
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["referrer-policy"] == "no-referrer"
    page = html(response)
    assert page.find(id="meeting-title").get_text(strip=True) == meeting["title"]
    assert page.find(id="meeting-time").get_text(strip=True).startswith("2030年11月29日 09:00")  # Asia/Shanghai
    assert page.find(id="meeting-location").get_text(strip=True) == "区委党校三楼会议室"
    assert page.find(id="unit-name").get_text(strip=True).startswith(MARKET)
    assert POLICE not in page.get_text()  # only this invitation, not the other units'
    assert page.find(id="current-reply").get_text(strip=True).startswith("未回复")
    assert [i["value"] for i in page.select("input[name=reply]")] == ["attending", "leave", "delegated"]
    assert page.find(id="f-attendee_name") and page.find(id="f-attendee_title") and page.find(id="f-leave_reason")


async def test_unit_answers_each_way_through_its_link(anon):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    url = f"/r/{inv['token']}"

    response = await browser_post(anon, url, ATTENDING)
    assert response.status_code == 303 and response.headers["location"] == url
    row = await fresh(inv["id"])
    assert (row["reply"], row["attendee_name"], row["attendee_title"]) == ("attending", "赵明", "副局长")
    assert row["replied_at"] is not None
    page = html(await anon.get(url))
    assert page.select_one(".flash").get_text(strip=True) == "已收到贵单位的回复，谢谢。"
    assert page.find(id="current-reply").get_text(strip=True).startswith("参会：赵明（副局长）")
    assert page.find(id="reply-attending").has_attr("checked")  # the form starts from the last answer
    assert field_value(await anon.get(url), "attendee_name") == "赵明"

    response = await browser_post(anon, url, {"reply": "leave", "leave_reason": "同日参加市局专项检查", "attendee_name": "赵明"})
    assert response.status_code == 303
    row = await fresh(inv["id"])
    assert (row["reply"], row["leave_reason"], row["attendee_name"]) == ("leave", "同日参加市局专项检查", "")
    assert html(await anon.get(url)).find(id="current-reply").get_text(strip=True).startswith("请假：同日参加市局专项检查")

    response = await browser_post(anon, url, {"reply": "delegated", "attendee_name": "钱进", "attendee_title": "科长"})
    assert response.status_code == 303
    row = await fresh(inv["id"])
    assert (row["reply"], row["attendee_name"], row["attendee_title"], row["leave_reason"]) == ("delegated", "钱进", "科长", "")
    assert html(await anon.get(url)).find(id="current-reply").get_text(strip=True).startswith("委托参会：钱进（科长）")

    replies = await AuditEvent.select().where((AuditEvent.entity == "invitation") & (AuditEvent.entity_id == inv["id"])
                                              & (AuditEvent.action == "reply")).order_by(AuditEvent.id)
    assert len(replies) == 3
    last = replies[-1]["after"]
    assert (json.loads(last) if isinstance(last, str) else last)["reply"] == "delegated"
    assert all(e["actor"] is None for e in replies)  # answered through the link, not by an account


async def test_bad_replies_are_shown_beside_fields_with_input_kept(anon):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    url = f"/r/{inv['token']}"
    await anon.get(url)

    response = await post_form(anon, url, {"reply": "attending", "attendee_name": "", "attendee_title": "副局长"})
    assert response.status_code == 400
    assert field_error(response, "attendee_name") == "请填写参会人姓名。"
    assert field_error(response, "attendee_title") is None
    assert field_value(response, "attendee_title") == "副局长"
    assert html(response).find(id="reply-attending").has_attr("checked")
    assert response.headers["referrer-policy"] == "no-referrer"

    response = await post_form(anon, url, {"reply": "delegated", "attendee_name": "孙", "attendee_title": ""})
    assert response.status_code == 400
    assert field_error(response, "attendee_title") == "请填写参会人职务。"
    assert field_value(response, "attendee_name") == "孙"

    response = await post_form(anon, url, {"reply": "leave", "leave_reason": ""})
    assert response.status_code == 400
    assert field_error(response, "leave_reason") == "请填写请假事由。"

    response = await post_form(anon, url, {"attendee_name": "李四"})
    assert response.status_code == 400
    assert field_error(response, "reply") == "请选择参会情况。"
    assert field_value(response, "attendee_name") == "李四"

    response = await post_form(anon, url, {"reply": "maybe"})
    assert response.status_code == 400
    assert field_error(response, "reply") == "请从列表中选择参会情况。"

    assert (await fresh(inv["id"]))["reply"] == "pending"


async def test_a_link_answers_only_its_own_invitation(anon):
    meeting = await make_meeting()
    market, police = await invitation(meeting["id"], MARKET), await invitation(meeting["id"], POLICE)
    assert market["token"] != police["token"]
    response = await browser_post(anon, f"/r/{market['token']}", ATTENDING)
    assert response.status_code == 303
    assert (await fresh(market["id"]))["reply"] == "attending"
    assert (await fresh(police["id"]))["reply"] == "pending"
    page = html(await anon.get(f"/r/{police['token']}"))
    assert page.find(id="unit-name").get_text(strip=True).startswith(POLICE)
    assert "赵明" not in page.get_text()


@pytest.mark.parametrize("token", ["no-such-token", "x" * 65, "%20"])
async def test_unknown_links_answer_404_without_meeting_data(anon, token):
    await make_meeting()
    response = await anon.get(f"/r/{token}")
    assert response.status_code == 404
    assert html(response).find("h1").get_text(strip=True) == "链接无效或已失效。"
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert (await post_form(anon, f"/r/{token}", ATTENDING)).status_code == 404


async def test_revoked_token_stops_working(anon):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    old = f"/r/{inv['token']}"
    await anon.get(old)
    await meeting_invitations.revoke_token(await actor("office"), inv["id"])
    response = await anon.get(old)
    assert response.status_code == 404
    assert meeting["title"] not in response.text
    assert (await post_form(anon, old, ATTENDING)).status_code == 404
    assert (await fresh(inv["id"]))["reply"] == "pending"
    await lifecycle.notify_meeting(await actor("office"), meeting["id"])  # the next notice carries a new link
    new = await sent_reply_token(inv["id"])
    assert new and new != inv["token"]
    assert (await anon.get(f"/r/{new}")).status_code == 200


async def test_cancelled_meeting_kills_the_link(anon):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    url = f"/r/{inv['token']}"
    await anon.get(url)
    await lifecycle.cancel_meeting(await actor("office"), meeting["id"], {"reason": "与区委全会时间冲突"})
    response = await anon.get(url)
    assert response.status_code == 404
    assert html(response).find("h1").get_text(strip=True) == "会议已取消，此链接已失效。"
    assert meeting["title"] not in response.text and "区委党校" not in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert (await post_form(anon, url, ATTENDING)).status_code == 404
    assert (await fresh(inv["id"]))["reply"] == "pending"


async def test_reply_after_the_meeting_was_held_is_a_conflict(anon):
    yesterday = today() - dt.timedelta(days=1)
    meeting = await make_meeting(day=yesterday)
    await lifecycle.hold_meeting(await actor("office"), meeting["id"])
    inv = await invitation(meeting["id"], MARKET)
    url = f"/r/{inv['token']}"
    page = html(await anon.get(url))
    assert page.find(id="reply-closed") is not None and page.find("form", class_="reply-form") is None
    response = await post_form(anon, url, ATTENDING)
    assert response.status_code == 409
    assert html(response).select_one(".error-summary h2").get_text(strip=True) == "会议当前状态为“已召开”，不能回复参会情况。"
    assert (await fresh(inv["id"]))["reply"] == "pending"


# ---------------------------------------------------------------- /my/invitations


async def test_unit_sees_only_its_own_invitations(as_user):
    notified, draft = await make_meeting(), await make_meeting(notify=False)
    market_client, police_client = await as_user("unit"), await as_user("unit_police")
    market, police = await invitation(notified["id"], MARKET), await invitation(notified["id"], POLICE)

    page = html(await market_client.get("/my/invitations?q=" + notified["title"]))
    rows = page.select("table.invitations tbody tr")
    assert len(rows) == 1 and notified["title"] in rows[0].get_text()
    assert [a["href"] for a in rows[0].select("a")] == [f"/my/invitations/{market['id']}"]
    assert "未回复" in rows[0].select_one("td.reply").get_text()
    page = html(await market_client.get(f"/my/invitations?q={draft['title']}"))
    assert not page.select("table.invitations tbody a")  # a draft is not sent yet: not listed

    links = [a["href"] for a in html(await police_client.get("/my/invitations?q=" + notified["title"])).select("tbody a")]
    assert links == [f"/my/invitations/{police['id']}"]

    # another unit's invitation (and an unsent one) answers 404, for reading and for replying
    for url in (f"/my/invitations/{police['id']}", f"/my/invitations/{(await invitation(draft['id'], MARKET))['id']}",
                "/my/invitations/999999"):
        response = await market_client.get(url)
        assert response.status_code == 404, url
        assert notified["title"] not in response.text and draft["title"] not in response.text
    response = await post_form(market_client, f"/my/invitations/{police['id']}", ATTENDING)
    assert response.status_code == 404
    assert (await fresh(police["id"]))["reply"] == "pending"


async def test_unit_replies_from_its_account(as_user):
    meeting = await make_meeting()
    client = await as_user("unit")
    inv = await invitation(meeting["id"], MARKET)
    url = f"/my/invitations/{inv['id']}"
    page = html(await client.get(url))
    assert page.find(id="meeting-title").get_text(strip=True) == meeting["title"]

    response = await post_form(client, url, {"reply": "attending", "attendee_name": "", "attendee_title": "局长"})
    assert response.status_code == 400
    assert field_error(response, "attendee_name") == "请填写参会人姓名。"
    assert field_value(response, "attendee_title") == "局长"

    response = await post_form(client, url, {"reply": "leave", "leave_reason": "外出学习"})
    assert response.status_code == 303 and response.headers["location"] == url
    assert (await fresh(inv["id"]))["reply"] == "leave"
    page = html(await client.get(url))
    assert page.select_one(".flash").get_text(strip=True) == "回复已保存。"
    row = html(await client.get("/my/invitations?q=" + meeting["title"])).select_one("tbody td.reply")
    assert row.get_text(strip=True) == "请假"
    event = await AuditEvent.select().where((AuditEvent.entity == "invitation") & (AuditEvent.entity_id == inv["id"])
                                            & (AuditEvent.action == "reply")).first()
    assert event["actor"] == (await User.select(User.id).where(User.username == "unit").first())["id"]


async def test_unit_cannot_reply_once_held_or_see_cancelled(as_user):
    client = await as_user("unit")
    held = await make_meeting(day=today() - dt.timedelta(days=1))
    await lifecycle.hold_meeting(await actor("office"), held["id"])
    inv = await invitation(held["id"], MARKET)
    assert (await post_form(client, f"/my/invitations/{inv['id']}", ATTENDING)).status_code == 409
    cancelled = await make_meeting()
    await lifecycle.cancel_meeting(await actor("office"), cancelled["id"], {"reason": "改期"})
    inv = await invitation(cancelled["id"], MARKET)
    assert (await client.get(f"/my/invitations/{inv['id']}")).status_code == 404
    row = html(await client.get("/my/invitations?q=" + cancelled["title"])).select_one("tbody tr")
    assert "已取消" in row.get_text() and not row.select("a")


@pytest.mark.parametrize("username", ["admin", "office", "convenor", "street"])
async def test_other_roles_have_no_unit_invitation_pages(as_user, username):
    meeting = await make_meeting()
    inv = await invitation(meeting["id"], MARKET)
    client = await as_user(username)
    assert (await client.get("/my/invitations")).status_code == 403
    assert (await client.get(f"/my/invitations/{inv['id']}")).status_code == 403
    assert (await post_form(client, f"/my/invitations/{inv['id']}", ATTENDING)).status_code == 403
