"""Minutes through HTTP: the draft written from the records, versions and their diff, the
concurrent-edit conflict (nothing typed lost), submission, comments, return and sign-off, every
forbidden transition (409), the published PDF stored once and served byte for byte, the correction
flow, distribution through the outbox, the JSON API, hostile text, and permissions (403 for roles
that never read drafts, 404 out of scope, also for the convenor of another conference)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle
from conference.meetings.tables import Invitation, Meeting
from conference.minutes import pdf, services
from conference.minutes.tables import Minutes, MinutesPublication, MinutesVersion
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from conference.tasks import resolutions as task_resolutions
from conference.tasks.tables import Resolution, Task
from tests import test_api
from tests.conftest import field_error, html, post_form
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, actor, conference_id, make_past_meeting, unique
from tests.test_minutes_pdf import HOSTILE, HOSTILE_TEXT, flowing_text

api = test_api.api  # the API tests' fixture: clients with a fresh Bearer token

LEAD, COOP1, COOP2 = "兰山区自然资源和规划局", "兰山区行政审批服务局", "兰山派出所"
MARKET = "兰山区市场监管局"  # the demo account `unit`
OBSERVER = "银雀山市场监管所"  # not a member of the 兰山街道 conference: invited as 列席


async def unit_id(name: str) -> int:
    row = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first()
    assert row is not None, name
    return int(row["id"])


async def held_meeting(office: str = "office", conference: str = LANSHAN_STREET, street: str = "street") -> dict[str, Any]:
    """A meeting held yesterday: replies and sign-in (present, leave, absent, an observer), one
    street item on the agenda and two resolutions with cooperating units."""
    from conference.agenda import scheduling
    from conference.agenda import services as agenda

    office_actor = await actor(office)
    meeting_id = await make_past_meeting(office, conference)
    if conference == LANSHAN_STREET:
        await meeting_invitations.add_invitation(office_actor, meeting_id, {"unit": str(await unit_id(OBSERVER)), "role": "observer"})
    item_id = await agenda.create_item(await actor(street), {
        "title": unique("纪要测试议题"), "description": "沿街商铺占道经营反复出现。", "category": "urban_management",
        "urgency": "normal"}, [], submit=True)
    await agenda.accept_item(office_actor, item_id)
    await scheduling.schedule_item(office_actor, item_id, {"meeting": str(meeting_id)})
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    invitations = await Invitation.select(Invitation.id, Invitation.unit.name.as_alias("unit_name"), Invitation.role).where(
        Invitation.meeting == meeting_id)
    by_name = {i["unit_name"]: i for i in invitations}
    if MARKET in by_name:
        inv = await Invitation.select().where(Invitation.id == by_name[MARKET]["id"]).first()
        await meeting_invitations.reply(None, inv, meeting, {"reply": "attending", "attendee_name": "刘洋", "attendee_title": "副局长"})
    await lifecycle.hold_meeting(office_actor, meeting_id)
    for name, inv in by_name.items():
        state = {"兰山区司法局": "leave", "兰山区生态环境分局": "absent"}.get(name, "present")
        await meeting_invitations.record_attendance(office_actor, inv["id"], {"attendance": state})
    texts = [unique("议定事项：建立联合审批专班，办理时限压缩至30个工作日") for _ in range(2)]
    day = (await Meeting.select(Meeting.starts_at).where(Meeting.id == meeting_id).first())["starts_at"].date()
    units = [(LEAD, [COOP1, COOP2]), (MARKET, ["兰山区综合行政执法局"])] if conference == LANSHAN_STREET else [
        ("罗庄区综合行政执法局", ["罗庄区应急管理局"]), ("罗庄区应急管理局", [])]
    for text, (lead, cooperating) in zip(texts, units, strict=True):
        await task_resolutions.adopt_resolution(office_actor, meeting_id, {
            "item": str(item_id), "text": text, "lead_unit": str(await unit_id(lead)), "deadline_mode": "date",
            "deadline": (day + dt.timedelta(days=60)).isoformat()},
            [str(await unit_id(u)) for u in cooperating])
    return {"meeting": meeting_id, "item": item_id, "texts": texts}


async def started(client: httpx.AsyncClient, meeting_id: int) -> int:
    response = await post_form(client, f"/meetings/{meeting_id}/minutes", {})
    assert response.status_code == 303, response.text
    minutes = await services.minutes_of_meeting(meeting_id)
    assert minutes is not None
    return int(minutes["id"])


async def latest_sections(minutes_id: int) -> dict[str, str]:
    row = await services.minutes_row(minutes_id)
    sections, _records = services.loads(await services.version_row(minutes_id, row["current_version"]))
    return sections


async def save(client: httpx.AsyncClient, minutes_id: int, base: int | None = None, **changes: str) -> httpx.Response:
    row = await services.minutes_row(minutes_id)
    data = {**await latest_sections(minutes_id), **changes, "base": str(base if base is not None else row["current_version"])}
    return await post_form(client, f"/minutes/{minutes_id}/save", data)


async def submit(client: httpx.AsyncClient, minutes_id: int) -> httpx.Response:
    row = await services.minutes_row(minutes_id)
    return await post_form(client, f"/minutes/{minutes_id}/submit", {"base": str(row["current_version"])})


async def approve(client: httpx.AsyncClient, minutes_id: int, text: str = "同意印发。") -> httpx.Response:
    row = await services.minutes_row(minutes_id)
    number = row["submitted_version"] or row["current_version"]
    return await post_form(client, f"/minutes/{minutes_id}/approve", {"number": str(number), "text": text})


async def published_minutes(as_user: Any) -> tuple[dict[str, Any], int]:
    office, convenor = await as_user("office"), await as_user("convenor")
    held = await held_meeting()
    minutes_id = await started(office, held["meeting"])
    assert (await submit(office, minutes_id)).status_code == 303
    assert (await approve(convenor, minutes_id)).status_code == 303
    return held, minutes_id


def status_of(response: httpx.Response) -> str:
    node = html(response).find(id="minutes-status")
    return node.get_text(strip=True) if node else ""


# ---------------------------------------------------------------- drafting


async def test_the_draft_is_written_from_the_records(as_user):
    office = await as_user("office")
    held = await held_meeting()
    page = html(await office.get(f"/meetings/{held['meeting']}"))
    assert page.find(id="minutes-link")["href"] == f"/meetings/{held['meeting']}/minutes"
    response = await office.get(f"/meetings/{held['meeting']}/minutes")
    assert response.status_code == 200 and html(response).find(id="start-minutes") is not None
    minutes_id = await started(office, held["meeting"])
    sections = await latest_sections(minutes_id)
    assert sections["title"] == "兰山街道城市基层党建联席会议纪要"
    assert re.fullmatch(r"第\d+期", sections["issue"])
    assert sections["issuer"] == "兰山街道城市基层党建联席会议办公室"
    assert "王建国同志" in sections["summary"] and "街道办事处三楼会议室" in sections["summary"]
    assert sections["present"].startswith("兰山区委常委、组织部部长王建国")
    assert "兰山区市场监管局副局长刘洋" in sections["present"] and LEAD in sections["present"]
    assert "兰山区司法局" not in sections["present"] and "兰山区生态环境分局" not in sections["present"]  # leave, absent
    assert sections["leave"] == "兰山区司法局"
    assert sections["observers"] == OBSERVER
    assert sections["distribution"] == "联席会议各成员单位，兰山街道党工委。"
    _sections, records = services.loads(await services.version_row(minutes_id, 1))
    assert [r["text"] for r in records["resolutions"]] == held["texts"]
    assert records["resolutions"][0]["lead"] == LEAD and records["resolutions"][0]["cooperating"] == [COOP1, COOP2]
    page = html(await office.get(f"/meetings/{held['meeting']}/minutes"))
    text = page.find(id="minutes-text").get_text()
    assert f"一、{held['texts'][0]}" in text and f"二、{held['texts'][1]}" in text
    assert "牵头单位：" + LEAD + "；配合单位：" + COOP1 + "、" + COOP2 in text
    assert page.find(id="f-summary").get_text() == sections["summary"]
    assert page.find("input", attrs={"name": "base"})["value"] == "1"
    meeting = await Meeting.select(Meeting.status).where(Meeting.id == held["meeting"]).first()
    assert meeting["status"] == "held"  # drafting does not change it; submission does


async def test_drafting_needs_a_held_meeting_once_and_the_office(as_user):
    office, convenor, unit, street = [await as_user(u) for u in ("office", "convenor", "unit", "street")]
    not_held = await make_past_meeting()
    assert (await post_form(office, f"/meetings/{not_held}/minutes", {})).status_code == 409
    held = await held_meeting()
    for client, status in ((convenor, 403), (unit, 403), (street, 403)):
        assert (await post_form(client, f"/meetings/{held['meeting']}/minutes", {})).status_code == status
    await started(office, held["meeting"])
    response = await post_form(office, f"/meetings/{held['meeting']}/minutes", {})
    assert response.status_code == 409 and "已经开始起草" in response.text


# ---------------------------------------------------------------- versions, diff, conflicts


async def test_every_save_is_a_version_and_any_two_compare(as_user):
    office = await as_user("office")
    held = await held_meeting()
    minutes_id = await started(office, held["meeting"])
    first = await latest_sections(minutes_id)
    response = await save(office, minutes_id, requirements=first["requirements"].replace("定期通报", "每月通报") + "\n新增一段<script>x</script>")
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{held['meeting']}/minutes"
    assert (await save(office, minutes_id, leave="")).status_code == 303
    assert await MinutesVersion.count().where(MinutesVersion.minutes == minutes_id) == 3
    response = await office.get(f"/minutes/{minutes_id}/diff", params={"a": "1", "b": "2"})
    assert response.status_code == 200
    page = html(response)
    assert page.find(id="diff-summary").get_text(strip=True).startswith("共 2 处改动")
    changed = page.select("section.diff-block")
    assert [s["data-section"] for s in changed] == ["requirements"]
    assert [d.get_text() for d in changed[0].select("del")] == ["定期"]
    assert [i.get_text() for i in changed[0].select("ins")] == ["每月", "新增一段<script>x</script>"]
    # The only script is the site's own file: the diffed text stays text.
    assert [tag.get("src") for tag in page.find_all("script")] == ["/static/app.js"]
    assert "&lt;script&gt;x&lt;/script&gt;" in response.text
    page = html(await office.get(f"/minutes/{minutes_id}/diff", params={"a": "1", "b": "3"}))
    assert {s["data-section"] for s in page.select("section.diff-block")} == {"requirements", "leave"}
    assert html(await office.get(f"/minutes/{minutes_id}/diff", params={"a": "2", "b": "2"})).find(
        id="diff-summary").get_text(strip=True) == "两个版本的内容相同。"
    assert (await office.get(f"/minutes/{minutes_id}/diff", params={"a": "1", "b": "99"})).status_code == 404
    # Each version as HTML and as PDF (a draft: watermark 草稿).
    page = html(await office.get(f"/minutes/{minutes_id}/versions/2"))
    assert "新增一段<script>x</script>" in page.select_one("article.minutes-text").get_text()
    response = await office.get(f"/minutes/{minutes_id}/versions/1.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "草稿" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert (await office.get(f"/minutes/{minutes_id}/versions/9.pdf")).status_code == 404
    assert (await office.get(f"/minutes/{minutes_id}/versions/x.pdf")).status_code == 404


async def test_concurrent_edits_conflict_and_nothing_typed_is_lost(as_user):
    first, second = await as_user("office"), await as_user("admin")
    held = await held_meeting()
    minutes_id = await started(first, held["meeting"])
    # Both opened version 1; the first saves.
    assert (await save(first, minutes_id, base=1, summary="甲的修改。")).status_code == 303
    mine = "乙的修改：一段很长的文字，不能丢失。\n第二段<b>也在</b>。"
    response = await save(second, minutes_id, base=1, summary=mine, requirements="乙也改了会议要求。")
    assert response.status_code == 409
    page = html(response)
    message = page.find(id="error-summary").get_text()
    assert "在您编辑期间" in message and "第2版" in message and "尚未保存" in message
    assert page.find(id="f-summary").get_text() == mine  # what the second person typed, as typed
    assert page.find(id="f-requirements").get_text() == "乙也改了会议要求。"
    assert page.find("input", attrs={"name": "base"})["value"] == "2"  # saving again is a deliberate choice
    assert page.select_one("#conflict a")["href"] == f"/minutes/{minutes_id}/diff?a=1&b=2"
    assert await MinutesVersion.count().where(MinutesVersion.minutes == minutes_id) == 2
    assert (await latest_sections(minutes_id))["summary"] == "甲的修改。"
    # Saving again from the re-rendered form (base 2) makes version 3 with the second person's text.
    data = {tag["name"]: (tag.get_text() if tag.name == "textarea" else tag.get("value", ""))
            for tag in page.select("#edit-form textarea, #edit-form input[name]") if tag["name"] != "_csrf_token"}
    assert (await post_form(second, f"/minutes/{minutes_id}/save", data)).status_code == 303
    assert (await latest_sections(minutes_id))["summary"] == mine.replace("\r\n", "\n")
    assert (await services.minutes_row(minutes_id))["current_version"] == 3


async def test_simultaneous_saves_make_exactly_one_version(as_user):
    """Two saves from the same version at the same moment: one wins, the other gets the conflict
    page with its own text (the version check is in the UPDATE, so it holds on PostgreSQL too)."""
    import asyncio

    first, second = await as_user("office"), await as_user("admin")
    held = await held_meeting()
    minutes_id = await started(first, held["meeting"])
    responses = await asyncio.gather(save(first, minutes_id, base=1, summary="甲同时保存。"),
                                     save(second, minutes_id, base=1, summary="乙同时保存。"))
    assert sorted(r.status_code for r in responses) == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    winner_text = "甲同时保存。" if loser is responses[1] else "乙同时保存。"
    assert html(loser).find(id="f-summary").get_text() != winner_text
    assert await MinutesVersion.count().where(MinutesVersion.minutes == minutes_id) == 2
    assert (await latest_sections(minutes_id))["summary"] == winner_text


async def test_save_validation_keeps_input(as_user):
    office = await as_user("office")
    held = await held_meeting()
    minutes_id = await started(office, held["meeting"])
    response = await save(office, minutes_id, title="", summary="长" * 5001, issue="第1期\n第2期", requirements="保留我")
    assert response.status_code == 400
    assert field_error(response, "title") == "请填写纪要标题。"
    assert field_error(response, "summary") == "会议概况不能超过5000个字。"
    assert field_error(response, "issue") == "期号只能填写一行。"
    assert html(response).find(id="f-requirements").get_text() == "保留我"
    response = await post_form(office, f"/minutes/{minutes_id}/save", {**await latest_sections(minutes_id)})
    assert response.status_code == 400  # no base: the editor's starting version is required


# ---------------------------------------------------------------- review and sign-off


async def test_lifecycle_and_forbidden_transitions(as_user):
    office, convenor, admin = await as_user("office"), await as_user("convenor"), await as_user("admin")
    held = await held_meeting()
    minutes_id = await started(office, held["meeting"])
    base = f"/minutes/{minutes_id}"
    # Nothing to review yet.
    assert (await approve(convenor, minutes_id)).status_code == 409
    assert (await post_form(convenor, f"{base}/return", {"text": "x"})).status_code == 409
    assert (await post_form(convenor, f"{base}/comments", {"text": "x"})).status_code == 409
    assert (await post_form(office, f"{base}/corrections", {"reason": "x"})).status_code == 409
    # The convenor reads only what was submitted.
    assert (await convenor.get(f"{base}/versions/1.pdf")).status_code == 404
    assert (await submit(office, minutes_id)).status_code == 303
    assert (await Meeting.select(Meeting.status).where(Meeting.id == held["meeting"]).first())["status"] == "minutes_in_review"
    assert (await submit(office, minutes_id)).status_code == 409
    assert (await save(office, minutes_id)).status_code == 409
    # Only the convenor signs; the office cannot approve or return.
    assert (await approve(office, minutes_id)).status_code == 403
    assert (await approve(admin, minutes_id)).status_code == 403
    assert (await post_form(office, f"{base}/return", {"text": "x"})).status_code == 403
    # The convenor reads HTML and PDF (watermark 征求意见稿), comments on a section, returns.
    page = html(await convenor.get(f"/meetings/{held['meeting']}/minutes"))
    assert status_of(await convenor.get(f"/meetings/{held['meeting']}/minutes")) == "待签发"
    assert held["texts"][0] in page.find(id="minutes-text").get_text()
    response = await convenor.get(page.find(id="read-pdf")["href"])
    assert response.status_code == 200 and "征求意见稿" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    response = await post_form(convenor, f"{base}/comments", {"section": "summary", "text": "请补充会议时长。"})
    assert response.status_code == 303
    assert (await post_form(convenor, f"{base}/comments", {"section": "nonsense", "text": "x"})).status_code == 400
    response = await post_form(convenor, f"{base}/return", {"section": "", "text": ""})
    assert response.status_code == 400
    assert html(response).find(id="e-return-text").get_text() == "请填写意见。"
    # Signing without a remark is allowed: the meeting's minutes are published.
    assert (await approve(convenor, minutes_id, "")).status_code == 303
    assert (await services.minutes_row(minutes_id))["status"] == "published"
    comments = html(await office.get(f"/meetings/{held['meeting']}/minutes")).select(".comment")
    assert [c["data-kind"] for c in comments] == ["comment", "approve"]
    assert "请补充会议时长。" in comments[0].get_text() and "会议概况" in comments[0].get_text()


async def test_return_fix_resubmit_approve(as_user):
    office, convenor = await as_user("office"), await as_user("convenor")
    held = await held_meeting()
    minutes_id = await started(office, held["meeting"])
    base = f"/minutes/{minutes_id}"
    assert (await submit(office, minutes_id)).status_code == 303
    response = await post_form(convenor, f"{base}/return", {"section": "requirements", "text": "会议要求请再具体些。"})
    assert response.status_code == 303
    page = await office.get(f"/meetings/{held['meeting']}/minutes")
    assert status_of(page) == "已退回修改"
    comment = html(page).select_one(".comment.kind-return")
    assert "会议要求请再具体些。" in comment.get_text() and "会议要求" in comment.get_text()
    assert (await approve(convenor, minutes_id)).status_code == 409  # returned: nothing to sign
    assert (await save(office, minutes_id, requirements="各单位每周报送进展。")).status_code == 303
    assert (await submit(office, minutes_id)).status_code == 303
    # Approving a version other than the one submitted is refused.
    response = await post_form(convenor, f"{base}/approve", {"number": "1"})
    assert response.status_code == 409
    assert (await approve(convenor, minutes_id)).status_code == 303
    minutes = await services.minutes_row(minutes_id)
    assert minutes["status"] == "published" and minutes["published_version"] == 2
    assert (await Meeting.select(Meeting.status).where(Meeting.id == held["meeting"]).first())["status"] == "minutes_published"
    # Published: nothing more can be changed, returned or signed.
    for response in (await save(office, minutes_id), await submit(office, minutes_id), await approve(convenor, minutes_id),
                     await post_form(convenor, f"{base}/return", {"text": "x"})):
        assert response.status_code == 409
    assert status_of(await convenor.get(f"/meetings/{held['meeting']}/minutes")) == "已签发印发"
    # Every step is on the audit trail, the meeting's status changes too.
    from conference.audit.tables import AuditEvent

    trail = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "minutes") & (AuditEvent.entity_id == minutes_id)).order_by(AuditEvent.id)]
    # "number": the 文号 given at the first 签发, stored just before the PDF is rendered.
    assert trail == ["create", "submit", "return", "comment", "save_version", "submit", "number", "approve", "comment", "publish"]
    meeting_trail = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "meeting") & (AuditEvent.entity_id == held["meeting"])).order_by(AuditEvent.id)]
    assert meeting_trail[-2:] == ["minutes_submitted", "minutes_published"]


async def test_the_published_copy_never_changes(as_user, monkeypatch):
    office, convenor, unit = await as_user("office"), await as_user("convenor"), await as_user("unit")
    held, minutes_id = await published_minutes(as_user)
    stored = await MinutesPublication.select().where(MinutesPublication.minutes == minutes_id).first()
    assert stored["sha256"] == hashlib.sha256(bytes(stored["pdf"])).hexdigest() and stored["size"] == len(bytes(stored["pdf"]))

    async def no_rendering(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the published copy must never be rendered again")

    monkeypatch.setattr(pdf, "render", no_rendering)
    downloads = [await client.get(f"/minutes/{minutes_id}/published.pdf") for client in (office, convenor, unit, office)]
    for response in downloads:
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        assert response.content == bytes(stored["pdf"])
        assert hashlib.sha256(response.content).hexdigest() == stored["sha256"]
        assert response.headers["x-content-sha256"] == stored["sha256"] and response.headers["etag"] == f'"{stored["sha256"]}"'
    # A client holding these bytes gets 304 without them (weak or strong tag, or in a list); another tag, the PDF.
    for tag in (f'"{stored["sha256"]}"', f'W/"{stored["sha256"]}"', f'"0", "{stored["sha256"]}"'):
        cached = await unit.get(f"/minutes/{minutes_id}/published.pdf", headers={"If-None-Match": tag})
        assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == f'"{stored["sha256"]}"'
    other = await unit.get(f"/minutes/{minutes_id}/publications/1.pdf", headers={"If-None-Match": '"0"'})
    assert other.status_code == 200 and other.content == bytes(stored["pdf"])
    # The signed version's PDF is the stored copy too, and the meeting's link leads there.
    assert (await office.get(f"/minutes/{minutes_id}/versions/1.pdf")).content == bytes(stored["pdf"])
    response = await unit.get(f"/meetings/{held['meeting']}/minutes/published.pdf")
    assert response.status_code == 303 and response.headers["location"] == f"/minutes/{minutes_id}/published.pdf"
    # PDF/A, without the draft watermark, with the metadata.
    reader = PdfReader(io.BytesIO(bytes(stored["pdf"])))
    assert "草稿" not in reader.pages[0].extract_text() and "征求意见稿" not in reader.pages[0].extract_text()
    assert b"pdfaid" in bytes(reader.trailer["/Root"]["/Metadata"].get_object().get_data())
    assert reader.metadata.title.startswith("兰山街道城市基层党建联席会议纪要")
    assert reader.metadata.author == "兰山街道城市基层党建联席会议办公室"
    assert held["texts"][0] in re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))


async def test_correction_is_a_new_version_with_its_own_sign_off(as_user):
    office, convenor, unit = await as_user("office"), await as_user("convenor"), await as_user("unit")
    held, minutes_id = await published_minutes(as_user)
    original = (await unit.get(f"/minutes/{minutes_id}/published.pdf")).content
    response = await post_form(office, f"/minutes/{minutes_id}/corrections", {"reason": ""})
    assert response.status_code == 400 and html(response).find(id="e-correction-reason") is not None
    response = await post_form(office, f"/minutes/{minutes_id}/corrections", {"reason": "出席名单漏列一个单位。"})
    assert response.status_code == 303
    minutes = await services.minutes_row(minutes_id)
    assert minutes["status"] == "draft" and minutes["current_version"] == 2 and minutes["published_version"] == 1
    version = await services.version_row(minutes_id, 2)
    assert version["correction_reason"] == "出席名单漏列一个单位。"
    # The published copy stays in force meanwhile.
    assert (await unit.get(f"/minutes/{minutes_id}/published.pdf")).content == original
    assert (await Meeting.select(Meeting.status).where(Meeting.id == held["meeting"]).first())["status"] == "minutes_published"
    page = html(await office.get(f"/meetings/{held['meeting']}/minutes"))
    assert "出席名单漏列一个单位。" in page.find(id="correction-notice").get_text()
    assert (await save(office, minutes_id, present=(await latest_sections(minutes_id))["present"] + "，兰山区司法局")).status_code == 303
    assert (await services.version_row(minutes_id, 3))["correction_reason"] == "出席名单漏列一个单位。"
    assert (await submit(office, minutes_id)).status_code == 303
    assert (await approve(convenor, minutes_id, "同意更正。")).status_code == 303
    corrected = await unit.get(f"/minutes/{minutes_id}/published.pdf")
    assert corrected.content != original and corrected.content.startswith(b"%PDF")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(corrected.content)).pages))
    assert "更正说明：出席名单漏列一个单位。" in text
    # The first publication stays available, byte for byte.
    assert (await unit.get(f"/minutes/{minutes_id}/publications/1.pdf")).content == original
    assert (await unit.get(f"/minutes/{minutes_id}/publications/2.pdf")).content == corrected.content
    assert (await unit.get(f"/minutes/{minutes_id}/publications/3.pdf")).status_code == 404
    rows = await MinutesPublication.select(MinutesPublication.seq, MinutesPublication.reason, MinutesPublication.version_number).where(
        MinutesPublication.minutes == minutes_id).order_by(MinutesPublication.seq)
    assert rows == [{"seq": 1, "reason": "", "version_number": 1}, {"seq": 2, "reason": "出席名单漏列一个单位。", "version_number": 3}]
    events = await Notification.select(Notification.event).where(
        (Notification.entity == "minutes") & (Notification.entity_id == minutes_id) & (Notification.unit == await unit_id(MARKET)))
    assert sorted(e["event"] for e in events) == ["minutes_corrected", "minutes_published"]


async def test_after_sign_off_a_resolution_changes_through_the_correction(as_user):
    """Signed minutes: the resolution edit is refused until the office starts a correction; during
    the correction the edit is open again and the tasks follow (added unit: task and notice, removed:
    cancelled with the reason, deadline moved), the correction draft is then stale until saved, and
    the re-signed copy prints the new resolution; once sent for signature the edit closes again."""
    from tests.test_resolution_edit import edit, edit_form, notices
    from tests.test_tasks import summary

    office, convenor = await as_user("office"), await as_user("convenor")
    held, minutes_id = await published_minutes(as_user)
    resolution = await Resolution.select().where((Resolution.meeting == held["meeting"]) & (Resolution.number == 2)).first()
    rid = resolution["id"]
    tasks_before = {t["unit"]: t for t in await Task.select().where(Task.resolution == rid)}
    enforcement, police = await unit_id("兰山区综合行政执法局"), await unit_id(COOP2)
    new_deadline = resolution["deadline"] + dt.timedelta(days=20)
    form = await edit_form(rid, text="更正后的议定事项", deadline=new_deadline.isoformat(), cooperating=[str(police)],
                           reason="召集人要求改由兰山派出所配合")
    response = await edit(office, rid, form)
    assert response.status_code == 409 and "更正" in summary(response)
    page = html(await office.get(f"/meetings/{held['meeting']}"))
    assert page.select_one(f"#resolution-edit-{rid}") is None and page.select_one("#resolutions-signed") is not None

    assert (await post_form(office, f"/minutes/{minutes_id}/corrections", {"reason": "议定事项二配合单位有误。"})).status_code == 303
    page = html(await office.get(f"/meetings/{held['meeting']}"))
    assert page.select_one(f"#resolution-edit-{rid}") is not None
    assert "议定事项二配合单位有误。" in page.select_one("#resolutions-correction").get_text()
    assert page.select_one("#resolutions-signed") is None
    response = await edit(office, rid, await edit_form(rid, text="更正后的议定事项", deadline=new_deadline.isoformat(),
                                                       cooperating=[str(police)], reason="召集人要求改由兰山派出所配合"))
    assert response.status_code == 303, response.text[:500]
    row = await Resolution.select().where(Resolution.id == rid).first()
    assert (row["text"], row["deadline"], row["number"]) == ("更正后的议定事项", new_deadline, 2)
    removed = await Task.select(Task.status).where(Task.id == tasks_before[enforcement]["id"]).first()
    assert removed["status"] == "cancelled"
    body = (await notices("task_cancelled", tasks_before[enforcement]["id"]))[0]["body"]
    assert "议定事项二配合单位有误。" in body and "召集人要求改由兰山派出所配合" in body
    added = await Task.select().where((Task.resolution == rid) & (Task.unit == police)).first()
    assert (added["role"], added["deadline"]) == ("cooperate", new_deadline)
    assert len(await notices("task_assigned", added["id"])) == 1
    lead = await Task.select(Task.deadline).where(Task.id == tasks_before[await unit_id(MARKET)]["id"]).first()
    assert lead["deadline"] == new_deadline

    # The correction draft was written before the change: stale until saved, then signed with it.
    page = html(await office.get(f"/meetings/{held['meeting']}/minutes"))
    assert page.find(id="stale") is not None
    assert (await save(office, minutes_id)).status_code == 303
    assert (await submit(office, minutes_id)).status_code == 303
    response = await edit(office, rid, await edit_form(rid, text="送签后再改"))
    assert response.status_code == 409 and "审签" in summary(response)
    assert (await approve(convenor, minutes_id, "同意更正。")).status_code == 303
    corrected = await convenor.get(f"/minutes/{minutes_id}/published.pdf")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(corrected.content)).pages))
    assert "更正后的议定事项" in text and "更正说明：议定事项二配合单位有误。" in text
    page = html(await office.get(f"/meetings/{held['meeting']}"))
    assert page.select_one(f"#resolution-edit-{rid}") is None  # signed again: closed until the next correction


async def test_resolutions_recorded_later_must_be_in_the_signed_text(as_user):
    """A resolution adopted after a version was saved makes that version stale: it cannot be
    submitted, nor signed once submitted; a new save takes the current records."""
    office, convenor = await as_user("office"), await as_user("convenor")
    held = await held_meeting()
    minutes_id = await started(office, held["meeting"])
    late = unique("议定事项：会后补记")

    async def adopt() -> None:
        day = (await Meeting.select(Meeting.starts_at).where(Meeting.id == held["meeting"]).first())["starts_at"].date()
        await task_resolutions.adopt_resolution(await actor("office"), held["meeting"], {
            "item": str(held["item"]), "text": late, "lead_unit": str(await unit_id(MARKET)), "deadline_mode": "date",
            "deadline": (day + dt.timedelta(days=30)).isoformat()}, [])

    await adopt()
    page = html(await office.get(f"/meetings/{held['meeting']}/minutes"))
    assert page.find(id="stale") is not None
    response = await submit(office, minutes_id)
    assert response.status_code == 409 and "请先保存新的版本" in html(response).find(id="error-summary").get_text()
    assert (await save(office, minutes_id)).status_code == 303
    _s, records = services.loads(await services.version_row(minutes_id, 2))
    assert records["resolutions"][-1]["text"] == late and records["resolutions"][-1]["number"] == 3
    assert (await submit(office, minutes_id)).status_code == 303
    # Adopted again while the convenor reviews (the meeting is in review): signing is refused.
    late = unique("议定事项：审签期间补记")
    await adopt()
    response = await approve(convenor, minutes_id)
    assert response.status_code == 409 and "请退回办公室" in response.text
    assert (await services.minutes_row(minutes_id))["status"] == "submitted"


# ---------------------------------------------------------------- distribution


async def test_each_unit_and_street_gets_its_own_tasks(as_user):
    held, minutes_id = await published_minutes(as_user)
    publication = await MinutesPublication.select(MinutesPublication.sha256).where(MinutesPublication.minutes == minutes_id).first()
    rows = await Notification.select().where((Notification.entity == "minutes") & (Notification.entity_id == minutes_id)
                                             & (Notification.event == "minutes_published"))
    invited = {r["unit"] for r in await Invitation.select(Invitation.unit).where(Invitation.meeting == held["meeting"])}
    to_units = [r for r in rows if r["unit"] is not None]
    assert sorted(r["unit"] for r in to_units) == sorted(invited)  # exactly one each, observers included
    tasks_of = await Task.select(Task.id, Task.unit).where(Task.resolution.meeting == held["meeting"])
    assert tasks_of
    url = f"/minutes/{minutes_id}/published.pdf"
    for message in to_units:
        assert url in message["body"] and publication["sha256"] in message["body"]
        own = {t["id"] for t in tasks_of if t["unit"] == message["unit"]}
        listed = {int(n) for n in re.findall(r"/tasks/(\d+)", message["body"])}
        assert listed == own, message["body"]
        if not own:
            assert "本次会议未向本单位交办督办任务。" in message["body"]
    lead_id = await unit_id(LEAD)
    lead = next(m for m in to_units if m["unit"] == lead_id)
    assert held["texts"][0] in lead["body"] and "牵头单位" in lead["body"] and held["texts"][1] not in lead["body"]
    assert lead["email"]  # the liaison's address
    to_streets = [r for r in rows if r["street"] is not None]
    assert len(to_streets) == 1
    assert {int(n) for n in re.findall(r"/tasks/(\d+)", to_streets[0]["body"])} == {t["id"] for t in tasks_of}
    # The unit reads it among its messages: the meeting named and linked, the PDF a link, no checksum.
    unit = await as_user("unit")
    market = await unit_id(MARKET)
    own = next(m for m in to_units if m["unit"] == market)
    listed = html(await unit.get("/notifications")).find(id=f"n-{own['id']}")
    assert listed.select_one(".message-record a")["href"] == f"/meetings/{held['meeting']}"
    opened = html(await unit.get(f"/notifications/{own['id']}")).select_one(".message-body")
    assert opened.find("a", href=url) is not None and publication["sha256"] not in opened.get_text()


# ---------------------------------------------------------------- the JSON API


async def test_api_gives_the_published_url_and_sha256(as_user, api):
    held, minutes_id = await published_minutes(as_user)
    stored = await MinutesPublication.select(MinutesPublication.sha256, MinutesPublication.size).where(
        MinutesPublication.minutes == minutes_id).first()
    for username in ("office", "convenor", "unit", "street"):
        response = await (await api(username)).get(f"/api/minutes/{held['meeting']}")
        assert response.status_code == 200, (username, response.text)
        body = response.json()
        assert body["minutes_id"] == minutes_id and body["status"] == "published"
        assert body["published"]["sha256"] == stored["sha256"] and body["published"]["size"] == stored["size"]
        assert body["published"]["url"].endswith(f"/minutes/{minutes_id}/published.pdf")
        assert [p["seq"] for p in body["publications"]] == [1]
    office_body = (await (await api("office")).get(f"/api/minutes/{held['meeting']}")).json()
    assert office_body["current_version"] == 1
    assert (await (await api("unit")).get(f"/api/minutes/{held['meeting']}")).json()["current_version"] is None
    # The PDF behind the URL has that SHA-256.
    office = await as_user("office")
    content = (await office.get(f"/minutes/{minutes_id}/published.pdf")).content
    assert hashlib.sha256(content).hexdigest() == stored["sha256"]
    # Before publication: the office sees the draft state, a unit nothing.
    draft = await held_meeting()
    await started(office, draft["meeting"])
    assert (await (await api("office")).get(f"/api/minutes/{draft['meeting']}")).json()["published"] is None
    assert (await (await api("unit")).get(f"/api/minutes/{draft['meeting']}")).status_code == 404
    assert (await (await api("office")).get("/api/minutes/999999")).status_code == 404
    assert (await (await api("street_luozhuang")).get(f"/api/minutes/{held['meeting']}")).status_code == 404


# ---------------------------------------------------------------- permissions


async def test_units_and_streets_read_only_the_published_copy_in_their_scope(as_user):
    held, minutes_id = await published_minutes(as_user)
    unit, police, street = await as_user("unit"), await as_user("unit_police"), await as_user("street")
    street_lz, office_lz = await as_user("street_luozhuang"), await as_user("office_luozhuang")
    meeting = held["meeting"]
    for client in (unit, street):
        for url in (f"/meetings/{meeting}/minutes", f"/minutes/{minutes_id}/versions/1.pdf", f"/minutes/{minutes_id}/versions/1",
                    f"/minutes/{minutes_id}/diff?a=1&b=1"):
            assert (await client.get(url)).status_code == 403, url
        for url in (f"/minutes/{minutes_id}/comments", f"/minutes/{minutes_id}/approve", f"/minutes/{minutes_id}/corrections"):
            assert (await post_form(client, url, {"text": "x", "reason": "x"})).status_code == 403, url
        assert (await client.get(f"/minutes/{minutes_id}/published.pdf")).status_code == 200
    # 兰山派出所 is a member of 兰山街道 and invited; a unit that is not invited gets 404.
    assert (await police.get(f"/minutes/{minutes_id}/published.pdf")).status_code == 200
    await Invitation.delete().where((Invitation.meeting == meeting) & (Invitation.unit == await unit_id("兰山派出所")))
    assert (await police.get(f"/minutes/{minutes_id}/published.pdf")).status_code == 404
    # Another street and another conference's office: 404.
    assert (await street_lz.get(f"/minutes/{minutes_id}/published.pdf")).status_code == 404
    assert (await street_lz.get(f"/minutes/{minutes_id}/publications/1.pdf")).status_code == 404
    assert (await office_lz.get(f"/meetings/{meeting}/minutes")).status_code == 404
    assert (await office_lz.get(f"/minutes/{minutes_id}/versions/1.pdf")).status_code == 404
    assert (await post_form(office_lz, f"/minutes/{minutes_id}/corrections", {"reason": "x"})).status_code == 404


async def test_the_convenor_of_another_conference_sees_nothing(as_user):
    office_lz, convenor = await as_user("office_luozhuang"), await as_user("convenor")
    held = await held_meeting("office_luozhuang", LUOZHUANG_STREET, "street_luozhuang")
    minutes_id = await started(office_lz, held["meeting"])
    assert (await submit(office_lz, minutes_id)).status_code == 303
    for url in (f"/meetings/{held['meeting']}/minutes", f"/minutes/{minutes_id}/versions/1.pdf", f"/minutes/{minutes_id}/versions/1",
                f"/minutes/{minutes_id}/diff?a=1&b=1"):
        assert (await convenor.get(url)).status_code == 404, url
    for url, data in ((f"/minutes/{minutes_id}/approve", {"number": "1"}), (f"/minutes/{minutes_id}/return", {"text": "x"}),
                      (f"/minutes/{minutes_id}/comments", {"text": "x"})):
        assert (await post_form(convenor, url, data)).status_code == 404, url
    assert (await services.minutes_row(minutes_id))["status"] == "submitted"


# ---------------------------------------------------------------- hostile text


async def test_hostile_text_in_every_field_renders_as_text(as_user, monkeypatch):
    office, convenor = await as_user("office"), await as_user("convenor")
    held = await held_meeting()
    minutes_id = await started(office, held["meeting"])
    single = {s.key for s in services.SECTIONS if not s.multiline}
    fields = {s.key: (HOSTILE[4][:s.max_length] if s.key in single else HOSTILE_TEXT[:s.max_length]) for s in services.SECTIONS}
    response = await save(office, minutes_id, **fields)
    assert response.status_code == 303, response.text
    asked: list[str] = []
    original_fetch = pdf.StaticOnlyFetcher.fetch

    def spy(self: Any, url: str, headers: Any = None) -> Any:
        asked.append(url)
        return original_fetch(self, url, headers)

    monkeypatch.setattr(pdf.StaticOnlyFetcher, "fetch", spy)
    response = await office.get(f"/minutes/{minutes_id}/versions/2.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert asked == [pdf.BASE_URL + "minutes.css"]
    text = flowing_text(response.content).replace("草", "").replace("稿", "")  # the watermark's letters, interleaved
    assert "<imgsrc=file:///etc/passwd>" in text and "{{7*7}}{%raw%}&lt;&amp;" in text
    # No installed font has CJK Extension B glyphs: they print as the missing-glyph box, the text around them exact.
    assert "生僻字" in text and "与常用字混排" in text
    # The page shows it as text: no element came from the user.
    response = await office.get(f"/meetings/{held['meeting']}/minutes")
    article = html(response).find(id="minutes-text")
    assert article.find(["img", "script", "style", "link", "b", "div"]) is None
    assert "<img src=file:///etc/passwd>" in article.get_text()
    # Submitted and signed: the archival render copes as well.
    assert (await submit(office, minutes_id)).status_code == 303
    assert (await approve(convenor, minutes_id, HOSTILE[3])).status_code == 303
    assert (await office.get(f"/minutes/{minutes_id}/published.pdf")).content.startswith(b"%PDF")
    assert set(asked) == {pdf.BASE_URL + "minutes.css"}


# ---------------------------------------------------------------- demo


async def test_demo_has_minutes_in_every_state(database_url):
    rows = await Minutes.select(Minutes.status, Minutes.correction_reason, Minutes.published_version)
    states = {r["status"] for r in rows}
    assert {"draft", "submitted", "returned", "published"} <= states
    assert any(r["status"] == "draft" and r["correction_reason"] for r in rows)  # a correction in progress
    counts = [await MinutesPublication.count().where(MinutesPublication.minutes == m["id"]) for m in await Minutes.select(Minutes.id)]
    assert 2 in counts  # corrected and signed again


@pytest.mark.parametrize("username", ["office", "convenor"])
async def test_demo_pages_render(as_user, username):
    client = await as_user(username)
    lanshan = await conference_id(LANSHAN_STREET)
    rows = await Minutes.select(Minutes.id, Minutes.meeting).where(Minutes.conference == lanshan)
    assert len(rows) >= 5
    for row in rows:
        response = await client.get(f"/meetings/{row['meeting']}/minutes")
        assert response.status_code == 200, (row, response.text[:300])
