"""A special-meeting request names the street's accepted items (issue 16, deliverable 5), through
HTTP: the form offers only the street's accepted items not on a meeting (nor in another waiting
request); the approved meeting is named from the request, carries those items on its agenda
(positions 1, 2, ...) and invites the units they name; the office may invite more."""

from __future__ import annotations

import re

from conference.agenda.tables import AgendaItem, SpecialMeetingRequestItem
from conference.audit.tables import AuditEvent
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.registry.tables import MemberUnit
from tests.conftest import field_error, html, post_form
from tests.factories import actor, make_meeting
from tests.test_special_requests import accepted_item, proposed, tag


async def unit_id(name: str) -> int:
    return int((await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first())["id"])


def offered(response) -> list[int]:
    return [int(box["value"]) for box in html(response).select("fieldset#f-items input[type=checkbox][name=items]")]


async def post_request(client, item_ids: list[int], title: str = "", **extra: str):
    return await post_form(client, "/special-requests/new", {
        "title": title or f"关于路灯维修的专题会议 {tag()}", "reason": "背街小巷路灯长期损坏，需多部门会商。",
        "proposed_date": proposed(), "items": [str(i) for i in item_ids], **extra})


def new_id(response) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/special-requests/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


async def test_the_form_offers_only_the_streets_accepted_items_not_yet_on_a_meeting(as_user):
    from conference.agenda import scheduling
    from conference.agenda import services as agenda

    street = await as_user("street")
    mine = await accepted_item()
    scheduled = await accepted_item()
    await scheduling.schedule_item(await actor("office"), scheduled, {"meeting": str(await make_meeting())})
    submitted = await agenda.create_item(await actor("street"), {
        "title": f"未受理 {tag()}", "description": "待受理", "category": "services", "urgency": "normal"}, [], submit=True)
    other_street = await accepted_item("street_luozhuang", ("罗庄区综合行政执法局",))

    page = await street.get("/special-requests/new")
    assert page.status_code == 200
    choices = offered(page)
    assert mine in choices
    assert scheduled not in choices and submitted not in choices and other_street not in choices
    assert html(page).find(id="f-proposed_items") is not None  # the free-text note stays, optional
    assert other_street in offered(await (await as_user("street_luozhuang")).get("/special-requests/new"))

    # A forged id (another street's item) is refused beside the field; the ticks and text are kept.
    response = await post_request(street, [mine, other_street], title="保留的名称")
    assert response.status_code == 400
    assert field_error(response, "items") == "所选议题已列入会议、已在其他提请中，或不属于本街道，请重新选择。"
    page = html(response)
    assert page.find(id="f-title")["value"] == "保留的名称"
    assert [int(b["value"]) for b in page.select("fieldset#f-items input[checked]")] == [mine]
    for bad in (["abc"], ["-1"], [str(submitted)]):
        response = await post_form(street, "/special-requests/new", {
            "title": "x", "reason": "y", "proposed_date": proposed(), "items": bad})
        assert response.status_code == 400 and field_error(response, "items")

    request_id = new_id(await post_request(street, [mine]))
    assert mine not in offered(await street.get("/special-requests/new"))  # waiting in that request
    rows = await SpecialMeetingRequestItem.select(SpecialMeetingRequestItem.item).where(
        SpecialMeetingRequestItem.request == request_id)
    assert [r["item"] for r in rows] == [mine]
    assert await AuditEvent.exists().where((AuditEvent.entity == "special_request") & (AuditEvent.entity_id == request_id)
                                           & (AuditEvent.action == "propose_items"))
    page = html(await street.get(f"/special-requests/{request_id}"))
    assert [a["href"] for a in page.select("#request-items a")] == [f"/items/{mine}"]


async def test_approval_puts_the_items_on_the_agenda_and_invites_their_units(as_user):
    street, convenor, office = await as_user("street"), await as_user("convenor"), await as_user("office")
    first = await accepted_item(units=("兰山区综合行政执法局", "兰山区市场监管局"))
    second = await accepted_item(units=("兰山派出所", "兰山区市场监管局"))
    title = f"关于背街小巷路灯维修的专题会议 {tag()}"
    request_id = new_id(await post_request(street, [first, second], title=title))
    page = html(await convenor.get(f"/special-requests/{request_id}"))
    assert [a["href"] for a in page.select("#request-items a")] == [f"/items/{first}", f"/items/{second}"]
    assert "邀请议题提请协调的单位" in page.find(id="approve-form").get_text()

    assert (await post_form(convenor, f"/special-requests/{request_id}/approve", {})).status_code == 303
    meeting_id = (await SpecialMeetingRequest.select(SpecialMeetingRequest.meeting).where(
        SpecialMeetingRequest.id == request_id).first())["meeting"]
    items = await AgendaItem.select(AgendaItem.id, AgendaItem.status, AgendaItem.position).where(
        AgendaItem.meeting == meeting_id).order_by(AgendaItem.position)
    assert [(i["id"], i["status"], i["position"]) for i in items] == [(first, "scheduled", 1), (second, "scheduled", 2)]

    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.find("h1").get_text(" ", strip=True).startswith(title)
    assert [a["href"] for a in page.select("table.agenda tbody a")] == [f"/items/{first}", f"/items/{second}"]
    invited = {row["data-unit"] for row in page.select("table.invitations tr[data-unit]")}
    assert invited == {"兰山区综合行政执法局", "兰山区市场监管局", "兰山派出所"}  # the units the items name, once each

    # The office may invite more through the usual form.
    extra = await unit_id("兰山区应急管理局")
    assert str(extra) in [o["value"] for o in page.select("#f-unit option")]
    response = await post_form(office, f"/meetings/{meeting_id}/invitations", {"unit": str(extra), "role": "member"})
    assert response.status_code == 303
    assert await Invitation.exists().where((Invitation.meeting == meeting_id) & (Invitation.unit == extra))

    # The street sees the meeting with its items; the convenor too.
    for client in (street, convenor):
        page = html(await client.get(f"/meetings/{meeting_id}"))
        assert [a["href"] for a in page.select("table.agenda tbody a")] == [f"/items/{first}", f"/items/{second}"]
    assert (await Meeting.select(Meeting.title).where(Meeting.id == meeting_id).first())["title"] == title


async def test_an_item_the_office_scheduled_meanwhile_stays_on_its_meeting(as_user):
    from conference.agenda import scheduling

    street, convenor = await as_user("street"), await as_user("convenor")
    taken, free = await accepted_item(), await accepted_item(units=("兰山派出所",))
    request_id = new_id(await post_request(street, [taken, free]))
    other = await make_meeting()
    await scheduling.schedule_item(await actor("office"), taken, {"meeting": str(other)})

    assert (await post_form(convenor, f"/special-requests/{request_id}/approve", {})).status_code == 303
    meeting_id = (await SpecialMeetingRequest.select(SpecialMeetingRequest.meeting).where(
        SpecialMeetingRequest.id == request_id).first())["meeting"]
    on_agenda = await AgendaItem.select(AgendaItem.id, AgendaItem.position).where(AgendaItem.meeting == meeting_id)
    assert [(i["id"], i["position"]) for i in on_agenda] == [(free, 1)]
    assert (await AgendaItem.select(AgendaItem.meeting).where(AgendaItem.id == taken).first())["meeting"] == other
    invited = {r["unit"] for r in await Invitation.select(Invitation.unit).where(Invitation.meeting == meeting_id)}
    assert invited == {await unit_id("兰山派出所")}
    page = html(await street.get(f"/special-requests/{request_id}"))
    assert "已列入议程" in page.find(id="request-items").get_text()


async def test_the_same_request_sent_twice_at_once_names_an_item_in_one_waiting_request(as_user):
    """The free items are read before the transaction; without the check again under the items'
    row locks both requests of a double click named the same item."""
    import asyncio

    street = await as_user("street")
    item = await accepted_item()
    first, second = await asyncio.gather(post_request(street, [item]), post_request(street, [item]))
    assert sorted([first.status_code, second.status_code]) == [303, 400], (first.status_code, second.status_code)
    refused = first if first.status_code == 400 else second
    assert field_error(refused, "items") == "所选议题已列入会议、已在其他提请中，或不属于本街道，请重新选择。"
    waiting = await SpecialMeetingRequestItem.select(SpecialMeetingRequestItem.request).where(
        (SpecialMeetingRequestItem.item == item) & (SpecialMeetingRequestItem.request.status == "requested"))
    assert len(waiting) == 1
