"""The audit trail as office staff read it (issue 16, item 2): Chinese field names, values labelled as
elsewhere in the UI, times in Asia/Shanghai, each change before → after, each record named by its
title and linked to its page when the viewer may open it; one label per filter option; the filtered
trail as .xlsx."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from conference.accounts.tables import User
from conference.audit import labels as audit_labels
from conference.audit.tables import AuditEvent
from conference.notifications.routes import EVENT_LABELS
from conference.tasks.states import RATING_LABELS, TASK_STATUS_LABELS
from conference.tasks.tables import Task
from tests.conftest import html
from tests.test_audit import audit_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2025-06-30 23:30 UTC is 2025-07-01 07:30 in Shanghai: a day of its own, away from the demo's events,
# and one where the zone decides the date.
AT = dt.datetime(2025, 6, 30, 23, 30, tzinfo=dt.UTC)
DAY = {"start": "2025-07-01", "end": "2025-07-01"}


async def lanshan_task() -> dict[str, Any]:
    """A demo task of 兰山街道 (in the district office's scope, not in 罗庄街道's)."""
    return await Task.select(
        Task.id, Task.conference, Task.resolution.item.title.as_alias("title"), Task.unit.name.as_alias("unit_name"),
    ).where(Task.conference.name == "兰山街道城市基层党建联席会议").order_by(Task.id).first()


async def user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


@pytest.fixture(scope="module")
async def trail(app) -> dict[str, Any]:
    """Two events on one day: the admin closes a 兰山街道 task (the record as the issue showed it),
    and the district office changes its own account's name (a record only the admin's pages show)."""
    task = await lanshan_task()
    office = await user_id("office")
    if not await AuditEvent.exists().where(AuditEvent.at == AT):
        await AuditEvent.insert(
            AuditEvent(at=AT, actor=await user_id("admin"), actor_name="系统管理员", action="closed", entity="task",
                       entity_id=task["id"], conference_id=task["conference"],
                       before={"status": "reported_done", "rating": "", "closed_at": None},
                       after={"status": "closed", "rating": "dissatisfied",
                              "closed_at": "2026-12-03T08:18:48.190413+00:00"}),
            AuditEvent(at=AT + dt.timedelta(minutes=1), actor=office, actor_name="兰山区联席会议办公室", action="update",
                       entity="user", entity_id=office, conference_id=None,
                       before={"display_name": "兰山区办公室"}, after={"display_name": "兰山区联席会议办公室"}),
        )
    return {"task": task, "office": office}


async def test_a_task_event_reads_in_chinese_with_labels_local_times_and_a_link(as_user, trail):
    task = trail["task"]
    for username in ("admin", "office"):
        rows = audit_rows(await (await as_user(username)).get("/audit", params={**DAY, "entity": "task"}))
        assert len(rows) == 1, username
        row = rows[0]
        assert row["at"] == "2025年7月1日 07:30"  # the instant in Asia/Shanghai, written as the UI writes it
        assert dt.datetime.fromisoformat(row["datetime"]).astimezone(SHANGHAI) == AT.astimezone(SHANGHAI)
        assert (row["actor"], row["action"], row["kind"]) == ("系统管理员", "销号", "督办任务")
        # The record is the task's title (its item and unit), linked to its page.
        assert row["title"] == f"{task['title']}（{task['unit_name']}）"
        assert row["href"] == f"/tasks/{task['id']}"
        # Chinese field names; statuses and ratings by their labels; the UTC instant in Shanghai time.
        assert row["changes"] == [
            ("状态", TASK_STATUS_LABELS["reported_done"], TASK_STATUS_LABELS["closed"]),
            ("评价", "—", RATING_LABELS["dissatisfied"]),
            ("销号时间", "—", "2026年12月3日 16:18"),
        ]
        # No English key, code or ISO timestamp is left on the page.
        text = html(await (await as_user(username)).get("/audit", params=DAY)).select_one("table.audit").get_text()
        for raw in ("status", "closed_at", "dissatisfied", "reported_done", "+00:00", "T08:18", "{"):
            assert raw not in text, raw


async def test_the_record_is_linked_only_where_the_viewer_may_open_it(as_user, trail):
    # The accounts list is the admin's: the office sees its own change to its account, unlinked.
    [own] = audit_rows(await (await as_user("office")).get("/audit", params={**DAY, "entity": "user"}))
    assert (own["kind"], own["title"], own["href"]) == ("账号", "兰山区联席会议办公室", None)
    assert own["changes"] == [("姓名", "兰山区办公室", "兰山区联席会议办公室")]
    [admin] = audit_rows(await (await as_user("admin")).get("/audit", params={**DAY, "entity": "user"}))
    assert admin["href"] == "/admin/users"
    # 罗庄街道's office sees neither event (another conference's task, another office's account).
    assert audit_rows(await (await as_user("office_luozhuang")).get("/audit", params=DAY)) == []


async def test_a_creation_lists_each_value_without_a_before(as_user, app):
    rows = audit_rows(await (await as_user("office")).get("/audit", params={"entity": "meeting", "action": "create"}))
    assert rows
    fields = dict((name, (before, after)) for name, before, after in rows[0]["changes"])
    assert {"会议名称", "会议类型", "开始时间", "地点", "状态"} <= set(fields)
    assert all(before is None for before, _after in fields.values())
    assert fields["会议类型"][1] in ("全体会议", "专题会议") and fields["状态"][1] == "草稿"
    assert rows[0]["href"].startswith("/meetings/")


async def test_every_field_in_the_trail_has_a_chinese_name(app):
    events = await AuditEvent.select(AuditEvent.entity, AuditEvent.before, AuditEvent.after).output(load_json=True)
    unnamed = {(e["entity"], key) for e in events for side in (e["before"], e["after"]) for key in (side or {})
               if audit_labels.field_label(e["entity"], key).isascii()}
    assert unnamed == set()


async def test_filters_list_each_label_once_and_every_recorded_action_has_one(as_user, app):
    page = html(await (await as_user("admin")).get("/audit"))
    for select in ("#f-action", "#f-entity"):
        labels = [o.get_text(strip=True) for o in page.select(f"{select} option")]
        assert len(labels) == len(set(labels)), select
    assert len(set(audit_labels.ACTION_LABELS.values())) == len(audit_labels.ACTION_LABELS)
    # The outbox's message types likewise (延期申请审批 was listed twice: approved and declined).
    assert len(set(EVENT_LABELS.values())) == len(EVENT_LABELS)
    outbox = html(await (await as_user("admin")).get("/outbox"))
    labels = [o.get_text(strip=True) for o in outbox.select("#f-event option")]
    assert len(labels) == len(set(labels)) and labels.count("延期申请已同意") == labels.count("延期申请未同意") == 1
    # Every code in the trail is listed (itself or the act it is part of), so no event is unfindable.
    codes = {r["action"] for r in await AuditEvent.select(AuditEvent.action).distinct()}
    assert codes <= set(audit_labels.ACTION_LABELS) | set(audit_labels.ACTION_ALIASES)
    # Publishing minutes moves the meeting too: "印发纪要" finds both records.
    rows = audit_rows(await (await as_user("admin")).get("/audit", params={"action": "publish", "per_page": "200"}))
    assert {r["kind"] for r in rows} == {"会议纪要", "会议"}
    assert {r["action"] for r in rows} == {"印发纪要"}


async def test_export_is_the_filtered_trail_as_xlsx(as_user, trail):
    task = trail["task"]
    response = await (await as_user("office")).get("/audit.xlsx", params=DAY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="audit-') and "filename*=UTF-8''" in disposition
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "操作日志"
    header = values[2]
    assert header == ("时间", "操作人", "操作", "记录类型", "记录", "变更内容（修改前 → 修改后）")
    body = [dict(zip(header, row, strict=True)) for row in values[3:] if row[0]]
    # Newest first: the office's account change, then the task.
    assert [r["记录类型"] for r in body] == ["账号", "督办任务"]
    closed = body[1]
    assert (closed["时间"], closed["操作人"], closed["操作"]) == ("2025年7月1日 07:30", "系统管理员", "销号")
    assert closed["记录"] == f"{task['title']}（{task['unit_name']}）"
    assert closed["变更内容（修改前 → 修改后）"].split("\n") == [
        f"状态：{TASK_STATUS_LABELS['reported_done']} → {TASK_STATUS_LABELS['closed']}",
        f"评价：— → {RATING_LABELS['dissatisfied']}", "销号时间：— → 2026年12月3日 16:18"]
    # The same scope as the page: 罗庄街道's office gets an empty trail for that day.
    other = openpyxl.load_workbook(io.BytesIO((await (await as_user("office_luozhuang")).get("/audit.xlsx", params=DAY)).content))
    assert [row for row in other.active.iter_rows(min_row=4, values_only=True) if row[0]] == []


@pytest.mark.parametrize("username", ["unit", "street", "convenor"])
async def test_export_is_for_offices_only(as_user, username):
    assert (await (await as_user(username)).get("/audit.xlsx")).status_code == 403


async def test_the_page_reads_names_per_kind_not_per_row(as_user, app):
    """One query per kind of record named on the page, whatever the number of rows."""
    from tests.querycount import count_queries

    client = await as_user("admin")
    counts = []
    for per_page in ("5", "100"):
        await client.get("/audit", params={"action": "assign", "per_page": per_page})  # warm (session, calendar)
        with count_queries() as seen:
            response = await client.get("/audit", params={"action": "assign", "per_page": per_page})
        assert response.status_code == 200 and len(audit_rows(response)) >= 5
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


async def test_names_and_records_past_the_bound_id_list_read_the_same(app):
    """Past db.MANY_IDS ids of one kind (an export names thousands of records) a branch's ids are one
    bound value instead of a placeholder each: the names and records read are the same, in one
    statement, whatever the mix of short and long lists."""
    from conference.audit.lookups import Lookups
    from conference.db import MANY_IDS
    from conference.registry.tables import MemberUnit, Street
    from tests.querycount import count_queries

    units = {r["id"]: r["name"] for r in await MemberUnit.select(MemberUnit.id, MemberUnit.name)}
    streets = {r["id"]: r["name"] for r in await Street.select(Street.id, Street.name)}
    read = []
    for extra in (0, MANY_IDS):  # every unit plus ids of none, to go past the bound
        lookups = Lookups()
        for unit_id in [*units, *range(10**6, 10**6 + extra)]:
            lookups.want("unit", unit_id)
            lookups.want_record("member_unit", unit_id)
        lookups.want("street", list(streets))
        with count_queries() as seen:
            await lookups.load()
        assert len(seen) == 1
        # The names are the records' titles (a unit's is its member_unit record's); an id of none is #id.
        assert {i: lookups.show("unit", i) for i in units} == units
        assert {i: lookups.show("street", i) for i in streets} == streets
        assert all(lookups.show("unit", i) == f"#{i}" for i in range(10**6, 10**6 + extra))
        assert {key: r["title"] for key, r in lookups.records.items()} == {
            **{("member_unit", i): n for i, n in units.items()}, **{("street", i): n for i, n in streets.items()}}
        read.append({key: dict(r) for key, r in lookups.records.items()})
    assert read[0] == read[1]


# 2025-07-31 16:00 UTC is 2025-08-01 00:00 in Shanghai: a day of its own for named_trail's events.
LATER = dt.datetime(2025, 7, 31, 16, 0, tzinfo=dt.UTC)
LATER_DAY = {"start": "2025-08-01", "end": "2025-08-01"}


@pytest.fixture(scope="module")
async def named_trail(app) -> dict[str, Any]:
    """An event on a day of its own about a demo record of each kind whose title and link the page
    makes through a join (they need the record's meeting, conference or day), each changing fields
    that name units: one unit, a list of units, an id that names nothing. The expected titles and
    links are read here through the ORM's own joins."""
    from conference.meetings.tables import Invitation, SpecialMeetingRequest
    from conference.minutes.tables import Minutes
    from conference.registry.tables import ConvenorAppointment, Membership, MemberUnit
    from conference.tasks.tables import Resolution
    from conference.timefmt import cn_date

    r = await Resolution.select(Resolution.id, Resolution.meeting, Resolution.conference, Resolution.meeting.title.as_alias("m"),
                                Resolution.item.title.as_alias("i")).order_by(Resolution.id, ascending=False).first()
    mi = await Minutes.select(Minutes.id, Minutes.meeting, Minutes.conference,
                              Minutes.meeting.title.as_alias("m")).order_by(Minutes.id, ascending=False).first()
    v = await Invitation.select(Invitation.id, Invitation.meeting, Invitation.meeting.conference.as_alias("conference"),
                                Invitation.meeting.title.as_alias("m"), Invitation.unit.name.as_alias("u")).order_by(Invitation.id, ascending=False).first()
    b = await Membership.select(Membership.id, Membership.conference, Membership.unit.name.as_alias("u"),
                                Membership.conference.name.as_alias("c")).order_by(Membership.id, ascending=False).first()
    a = await ConvenorAppointment.select(ConvenorAppointment.id, ConvenorAppointment.conference, ConvenorAppointment.person.name.as_alias("p"),
                                         ConvenorAppointment.conference.name.as_alias("c")).order_by(ConvenorAppointment.id, ascending=False).first()
    q = await SpecialMeetingRequest.select(SpecialMeetingRequest.id, SpecialMeetingRequest.conference, SpecialMeetingRequest.proposed_date,
                                           SpecialMeetingRequest.street.name.as_alias("s")).order_by(SpecialMeetingRequest.id, ascending=False).first()
    records = {
        "resolution": (r, f"{r['m']} · {r['i']}", f"/meetings/{r['meeting']}"),
        "minutes": (mi, f"{mi['m']} · 会议纪要", f"/meetings/{mi['meeting']}/minutes"),
        "invitation": (v, f"{v['m']} · {v['u']}", f"/meetings/{v['meeting']}"),
        "membership": (b, f"{b['u']} · {b['c']}", f"/registry/conferences/{b['conference']}"),
        "convenor_appointment": (a, f"{a['p']} · {a['c']}", f"/registry/conferences/{a['conference']}"),
        "special_request": (q, f"{q['s']} · {cn_date(q['proposed_date'])}", f"/special-requests/{q['id']}"),
    }
    # The last of each kind: its id is not its meeting's or conference's, so a link made from the wrong one shows.
    assert all(row["id"] != row.get("meeting", row["conference"]) for row, _title, _href in records.values())
    units = [row["name"] for row in await MemberUnit.select(MemberUnit.name).order_by(MemberUnit.id).limit(3)]
    ids = [row["id"] for row in await MemberUnit.select(MemberUnit.id).order_by(MemberUnit.id).limit(3)]
    if not await AuditEvent.exists().where(AuditEvent.at == LATER):
        admin = await user_id("admin")
        await AuditEvent.insert(*(
            AuditEvent(at=LATER + dt.timedelta(minutes=n), actor=admin, actor_name="系统管理员", action="update", entity=entity,
                       entity_id=row["id"], conference_id=row["conference"],
                       before={"lead_unit": ids[0], "cooperating": [ids[1]]},
                       after={"lead_unit": ids[1], "cooperating": [ids[0], ids[2], 999999]})
            for n, (entity, (row, _title, _href)) in enumerate(records.items())))
    return {"records": {entity: (title, href) for entity, (_row, title, href) in records.items()}, "units": units}


async def test_each_record_named_through_its_joins_is_titled_and_linked(as_user, named_trail):
    rows = audit_rows(await (await as_user("admin")).get("/audit", params=LATER_DAY))
    assert {row["kind"]: (row["title"], row["href"]) for row in rows} == {
        audit_labels.ENTITY_LABELS[entity]: found for entity, found in named_trail["records"].items()}


async def test_fields_naming_records_read_as_their_names(as_user, named_trail):
    """Before and after, one id or a list: each unit by its name; an id that names nothing as #id."""
    first, second, third = named_trail["units"]
    for entity in named_trail["records"]:
        [row] = audit_rows(await (await as_user("admin")).get("/audit", params={**LATER_DAY, "entity": entity}))
        assert row["changes"] == [
            (audit_labels.field_label(entity, "lead_unit"), first, second),
            (audit_labels.field_label(entity, "cooperating"), second, f"{first}、{third}、#999999"),
        ], entity
