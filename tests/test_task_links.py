"""Personal task links (issue 11 item 4) through HTTP, read from the outbox as the unit and the street
receive them: the unit acknowledges, reports progress with a file, reports done and asks for an
extension without a password; the street rates; every action goes through the task services
(audited with the unit or street via the link as actor). Valid / revoked / expired / another
task's id / closed task → 404; the office revokes and re-sends (the older link dies) and nobody
else may; links in the outbox are masked for the office."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from conference.audit.tables import AuditEvent
from conference.notifications.tables import Notification
from conference.tasks.tables import TaskAttachment, TaskLink, TaskReport
from conference.timefmt import now, today
from tests.conftest import post_form
from tests.test_tasks import MARKET, PDF, act, assert_done, html, new_task, summary, task_row, unit_id
from tests.tokens import sent_task_link


async def unit_link(task_id: int) -> str:
    link = await sent_task_link(task_id, street=False)
    assert link is not None
    return link


async def audit_of(task_id: int) -> list[tuple[str, int | None, str]]:
    rows = await AuditEvent.select(AuditEvent.action, AuditEvent.actor, AuditEvent.actor_name).where(
        (AuditEvent.entity == "task") & (AuditEvent.entity_id == task_id)).order_by(AuditEvent.id)
    return [(r["action"], r["actor"], r["actor_name"]) for r in rows]


def forms(response: httpx.Response) -> set[str]:
    return {f.get("id") for f in html(response).select("form[id$='-form']")}


async def link_post(client: httpx.AsyncClient, link: str, action: str, data: dict[str, Any] | None = None,
                    **kwargs: Any) -> httpx.Response:
    return await post_form(client, f"{link}/{action}", data or {}, **kwargs)


async def test_unit_acts_on_its_task_through_the_link(anon: httpx.AsyncClient) -> None:
    task_id = (await new_task(MARKET))[MARKET]
    link = await unit_link(task_id)
    assert link.startswith(f"/t/{task_id}/")
    page = await anon.get(link)
    assert page.status_code == 200
    assert page.headers["x-robots-tag"] == "noindex" and page.headers["referrer-policy"] == "no-referrer"
    assert MARKET in html(page).select_one("#link-holder").get_text()
    assert forms(page) == {"acknowledge-form", "extension-form"}
    # The forms post under the link; no link leads to pages that need a log-in.
    assert html(page).select_one("#acknowledge-form")["action"] == f"{link}/acknowledge"
    assert not html(page).select("a[href^='/meetings/'], a[href^='/items/'], a[href^='/tasks/']")

    response = await link_post(anon, link, "acknowledge")
    assert response.status_code == 303 and response.headers["location"] == link
    assert (await task_row(task_id))["status"] == "acknowledged"

    # Progress with an attachment: the form's errors show beside the field, then it goes through.
    bad = await link_post(anon, link, "progress", {"text": ""})
    assert bad.status_code == 400 and html(bad).select_one("#e-text").get_text(strip=True) == "请填写进展情况。"
    response = await link_post(anon, link, "progress", {"text": "已完成摸排，附整治方案。"},
                               files=[("files", ("方案.pdf", PDF, "application/pdf"))])
    assert response.status_code == 303, summary(response)
    row = await task_row(task_id)
    assert row["status"] == "in_progress"
    attachment = await TaskAttachment.select(TaskAttachment.id, TaskAttachment.filename).where(
        TaskAttachment.task == task_id).first()
    assert attachment is not None and attachment["filename"] == "方案.pdf"
    page = await anon.get(link)
    file_link = html(page).select_one("#task-record a[download]")["href"]
    assert file_link == f"{link}/attachments/{attachment['id']}"
    download = await anon.get(file_link)
    assert download.status_code == 200 and download.content == PDF

    # Extension through the link, then the office sees the request.
    new_deadline = (row["deadline"] + dt.timedelta(days=20)).isoformat()
    response = await link_post(anon, link, "extension", {"extension_deadline": new_deadline,
                                                         "extension_reason": "涉及多户协调，需延长。"})
    assert response.status_code == 303, summary(response)
    row = await task_row(task_id)
    assert row["extension_status"] == "requested" and row["extension_deadline"].isoformat() == new_deadline

    # Audited with the unit via the link as actor, no account id; the record names it too.
    events = [e for e in await audit_of(task_id) if e[0] in ("acknowledged", "progress", "extension_requested")]
    assert [e[0] for e in events] == ["acknowledged", "progress", "extension_requested"]
    assert all(e[1] is None and e[2] == f"{MARKET}（办理链接）" for e in events)
    authors = await TaskReport.select(TaskReport.author, TaskReport.author_name).where(
        (TaskReport.task == task_id) & (TaskReport.kind == "progress"))
    assert authors == [{"author": None, "author_name": f"{MARKET}（办理链接）"}]

    # Report done through the link: the unit has nothing more to do, the page stays readable.
    response = await link_post(anon, link, "done", {"evidence": "已整治完毕。"})
    assert response.status_code == 303, summary(response)
    page = await anon.get(link)
    assert page.status_code == 200 and forms(page) == set()


async def test_wrong_revoked_expired_and_other_tasks_links_answer_404(anon: httpx.AsyncClient, as_user: Any) -> None:
    office = await as_user("office")
    first = (await new_task(MARKET))[MARKET]
    second = (await new_task(MARKET))[MARKET]
    link, other = await unit_link(first), await unit_link(second)
    token = link.rsplit("/", 1)[1]
    assert (await anon.get(link)).status_code == 200
    # Another task's id with this token, a token changed by one character, an over-long token.
    assert (await anon.get(f"/t/{second}/{token}")).status_code == 404
    assert (await link_post(anon, f"/t/{second}/{token}", "acknowledge")).status_code == 404
    assert (await anon.get(link[:-1] + ("A" if link[-1] != "A" else "B"))).status_code == 404
    assert (await anon.get(f"/t/{first}/{'x' * 300}")).status_code == 404
    assert (await task_row(second))["status"] == "assigned"

    # Revoked by the office: the page and the actions are 404; audited.
    response = await post_form(office, f"/tasks/{first}/links/unit/revoke", {})
    assert response.status_code == 303 and response.headers["location"] == f"/tasks/{first}#links"
    assert (await anon.get(link)).status_code == 404
    assert (await link_post(anon, link, "acknowledge")).status_code == 404
    assert (await task_row(first))["status"] == "assigned"
    assert "revoke_link" in [e[0] for e in await audit_of(first)]
    # Re-sent: a new link works, the old one stays dead.
    response = await post_form(office, f"/tasks/{first}/links/unit/resend", {})
    assert response.status_code == 303, summary(response)
    fresh = await unit_link(first)
    assert fresh != link and (await anon.get(fresh)).status_code == 200 and (await anon.get(link)).status_code == 404
    assert "resend_link" in [e[0] for e in await audit_of(first)]

    # Expired.
    await TaskLink.update({TaskLink.expires_at: now() - dt.timedelta(seconds=1)}).where(
        (TaskLink.task == second) & TaskLink.revoked_at.is_null())
    assert (await anon.get(other)).status_code == 404


async def test_link_stops_when_the_task_closes_and_the_street_rates_through_its_link(
        anon: httpx.AsyncClient, as_user: Any) -> None:
    office = await as_user("office")
    task_id = (await new_task(MARKET))[MARKET]
    link = await unit_link(task_id)
    for action, data in (("acknowledge", {}), ("done", {"evidence": "已办结。"})):
        assert (await link_post(anon, link, action, data)).status_code == 303
    assert await sent_task_link(task_id, street=True) is None  # no rating link before closure
    assert_done(await act(office, task_id, "close", {"comment": "核实无误。"}), task_id)
    assert (await anon.get(link)).status_code == 404  # closed: the unit's link stops

    rating = await sent_task_link(task_id, street=True)
    assert rating is not None
    notice = await Notification.select(Notification.subject, Notification.event).where(
        (Notification.entity == "task") & (Notification.entity_id == task_id) & Notification.street.is_not_null()).first()
    assert notice is not None and notice["event"] == "task_closed" and MARKET in notice["subject"]
    page = await anon.get(rating)
    assert page.status_code == 200 and forms(page) == {"rate-form"}
    # The rating link opens only the rating: the unit's actions are refused under it.
    assert (await link_post(anon, rating, "acknowledge")).status_code == 403
    bad = await link_post(anon, rating, "rate", {"rating": "dissatisfied"})
    assert bad.status_code == 400 and html(bad).select_one("#e-rating_comment") is not None
    response = await link_post(anon, rating, "rate", {"rating": "satisfied", "rating_comment": "整治及时。"})
    assert response.status_code == 303, summary(response)
    row = await task_row(task_id)
    assert row["rating"] == "satisfied"
    rated = [e for e in await audit_of(task_id) if e[0] == "rated"]
    assert len(rated) == 1 and rated[0][1] is None and rated[0][2].endswith("（评价链接）")
    # Rated: the page shows it, no form; rating twice is refused.
    page = await anon.get(rating)
    assert page.status_code == 200 and forms(page) == set()
    assert (await link_post(anon, rating, "rate", {"rating": "satisfied"})).status_code == 409


async def test_only_the_office_manages_links_and_sees_them_masked(as_user: Any) -> None:
    office, unit, street = await as_user("office"), await as_user("unit"), await as_user("street")
    other_office = await as_user("office_luozhuang")
    task_id = (await new_task(MARKET))[MARKET]
    page = await office.get(f"/tasks/{task_id}")
    state = html(page).select_one("#link-state li[data-holder='unit']")
    assert state is not None and state.select_one("#resend-unit") and state.select_one("#revoke-unit")
    assert html(await unit.get(f"/tasks/{task_id}")).select_one("#link-state") is None
    for client in (unit, street):
        assert (await post_form(client, f"/tasks/{task_id}/links/unit/revoke", {})).status_code == 403
    assert (await post_form(other_office, f"/tasks/{task_id}/links/unit/resend", {})).status_code == 404
    assert (await post_form(office, f"/tasks/{task_id}/links/nobody/resend", {})).status_code == 404
    # A closed or cancelled task: no new unit link (409 with the reason on the task page).
    assert_done(await act(office, task_id, "cancel", {"reason": "重复交办。"}), task_id)
    response = await post_form(office, f"/tasks/{task_id}/links/unit/resend", {})
    assert response.status_code == 409 and "不能发送办理链接" in html(response).select_one("#links-error").get_text()
    # The outbox shows the task e-mail with its token masked.
    outbox = await office.get("/outbox")
    assert outbox.status_code == 200 and "/t/" in outbox.text
    link = await unit_link(task_id)
    assert link.rsplit("/", 1)[1] not in outbox.text
    assert await unit_id(MARKET)


async def test_task_email_carries_the_link_and_it_works_on_a_new_day(anon: httpx.AsyncClient) -> None:
    """The assignment e-mail (task_assigned) carries the link; it says what the unit can do with it."""
    task_id = (await new_task(MARKET, deadline=today() + dt.timedelta(days=10)))[MARKET]
    notice = await Notification.select(Notification.body, Notification.event).where(
        (Notification.entity == "task") & (Notification.entity_id == task_id)).first()
    assert notice is not None and notice["event"] == "task_assigned"
    assert "无需登录" in notice["body"] and f"/t/{task_id}/" in notice["body"]
    assert (await anon.get(await unit_link(task_id))).status_code == 200
