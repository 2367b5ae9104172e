"""The resolutions, supervision, ledger and outbox groups of the JSON API (issue 15 item 1): each
endpoint for the roles office, convenor, street and unit — allowed roles get what the page shows
(same service, same scope), the others 403/404 — and the office's correction of a resolution through
the same rules as the meeting page (office only, before sign-off, version checked, audited)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from bs4 import BeautifulSoup
from openpyxl import load_workbook

from conference.audit.tables import AuditEvent
from conference.meetings.tables import Meeting
from conference.tasks.tables import Resolution
from conference.timefmt import today
from tests import test_api
from tests.test_api import assert_error
from tests.test_tasks import MARKET, held_meeting, new_task, unit_id

api = test_api.api  # clients with a fresh token per demo account


def text(tag: Any, selector: str) -> str:
    found = tag.select_one(selector)
    assert found is not None, selector
    return str(found.get_text(strip=True))


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def _resolution(meeting: tuple[int, int]) -> int:
    task_id = (await new_task(MARKET, meeting=meeting))[MARKET]
    row = await Resolution.select(Resolution.id).where(Resolution.meeting == meeting[0]).first()
    assert row is not None and task_id
    return int(row["id"])


async def test_resolutions_read_per_role_and_corrected_by_the_office(api):
    meeting = await held_meeting()
    resolution_id = await _resolution(meeting)
    office, convenor, street, unit = await api("office"), await api("convenor"), await api("street"), await api("unit")

    listed = ok(await office.get(f"/api/meetings/{meeting[0]}/resolutions"))
    assert [r["id"] for r in listed["items"]] == [resolution_id] and listed["editable"] is True
    one = ok(await office.get(f"/api/resolutions/{resolution_id}"))
    assert one == listed["items"][0] and one["numeral"] == "一、" and one["lead_unit"] == await unit_id(MARKET)
    assert [t["unit_name"] for t in one["tasks"]] == [MARKET]
    for client in (convenor, street, unit):  # every role that reaches the resolution reads the same one
        assert ok(await client.get(f"/api/resolutions/{resolution_id}"))["text"] == one["text"]
    assert_error(await office.get("/api/resolutions/999999999"), 404)

    later = today() + dt.timedelta(days=45)
    body = {"version": one["version"], "reason": "会上补充", "text": "规范农贸市场周边占道经营（修改）",
            "lead_unit": one["lead_unit"], "deadline_mode": "date", "deadline": later.isoformat()}
    for client in (convenor, street, unit):
        assert_error(await client.patch(f"/api/resolutions/{resolution_id}", json=body), 403)
    assert "reason" in assert_error(await office.patch(f"/api/resolutions/{resolution_id}",
                                                       json={**body, "reason": ""}), 400)["errors"]
    assert "bogus" in assert_error(await office.patch(f"/api/resolutions/{resolution_id}",
                                                      json={**body, "bogus": 1}), 400)["errors"]
    changed = ok(await office.patch(f"/api/resolutions/{resolution_id}", json=body))
    assert changed["text"] == body["text"] and changed["deadline"] == later.isoformat()
    assert changed["version"] == one["version"] + 1
    assert changed["tasks"][0]["deadline"] == later.isoformat()  # the task followed
    assert_error(await office.patch(f"/api/resolutions/{resolution_id}", json=body), 409)  # stale version
    assert await AuditEvent.exists().where((AuditEvent.entity == "resolution") & (AuditEvent.entity_id == resolution_id))

    # After sign-off the change goes through the minutes correction, as on the meeting page.
    await Meeting.update({Meeting.status: "minutes_published"}).where(Meeting.id == meeting[0])
    assert ok(await office.get(f"/api/meetings/{meeting[0]}/resolutions"))["editable"] is False
    signed = assert_error(await office.patch(f"/api/resolutions/{resolution_id}",
                                             json={**body, "version": changed["version"], "text": "签发后修改"}), 409)
    assert "更正" in signed["detail"]
    assert ok(await office.get(f"/api/resolutions/{resolution_id}"))["text"] == body["text"]


SUPERVISORS = ("office", "convenor")
REFUSED = ("street", "unit")


async def test_supervision_figures_match_the_dashboard_per_role(api, as_user):
    await new_task(MARKET, deadline=today() + dt.timedelta(days=2))  # something open, perhaps due soon
    year = today().year
    params = {"start": f"{year}-01-01", "end": f"{year}-12-31", "group": "unit"}
    for role in SUPERVISORS:
        client, page = await api(role), await as_user(role)
        rates = ok(await client.get("/api/supervision/rates", params=params))
        html = BeautifulSoup((await page.get("/supervision", params=params)).text, "html.parser")
        total_row = html.select_one('tfoot tr[data-key="total"]')
        assert total_row is not None
        for measure in ("response", "resolution", "satisfaction"):
            assert text(total_row, f'td[data-count="{measure}-total"]') == str(rates["total"]["totals"][measure])
            assert text(total_row, f'td[data-rate="{measure}"]') == rates["total"]["texts"][measure]
        listed = {r.get("data-key") for r in html.select("tbody tr[data-key]")}
        assert listed == {str(r["key"]) if r["key"] is not None else "" for r in rates["rows"]}

        alerts = ok(await client.get("/api/supervision/alerts"))
        cards = {c["data-kpi"]: text(c, ".kpi-value") for c in html.select("[data-kpi]")}
        assert cards["open"] == str(alerts["open_total"]) and cards["red"] == str(alerts["overdue_total"])
        assert cards["yellow"] == str(alerts["yellow_total"]) and cards["unack"] == str(alerts["unack_total"])
        assert len(alerts["overdue"]) == min(alerts["overdue_total"], 30)

        assessment = ok(await client.get("/api/supervision/assessment", params={"year": year}))
        sheet = BeautifulSoup((await page.get("/supervision/assessment", params={"year": year})).text, "html.parser")
        assert [int(str(r["data-unit"])) for r in sheet.select("tr[data-unit]")] == [r["id"] for r in assessment["rows"]]
    office = await api("office")
    assert "end" in assert_error(await office.get("/api/supervision/rates", params={"start": "2026-05-01",
                                                                                     "end": "2026-04-01"}), 400)["errors"]
    assert_error(await office.get("/api/supervision/rates", params={"group": "nope"}), 400)
    for role in REFUSED:
        client = await api(role)
        for path in ("rates", "alerts", "assessment", "ledger.xlsx", "ledger.csv"):
            assert_error(await client.get(f"/api/supervision/{path}"), 403)


async def test_ledgers_download_the_pages_files(api, as_user):
    await new_task(MARKET)
    for role in SUPERVISORS:
        client, page = await api(role), await as_user(role)
        for suffix in ("csv", "xlsx"):
            response = await client.get(f"/api/supervision/ledger.{suffix}", params={"kind": "tasks"})
            assert response.status_code == 200, response.text
            from_page = await page.get(f"/supervision/ledger.{suffix}", params={"kind": "tasks"})
            assert response.headers["content-disposition"] == from_page.headers["content-disposition"]
            if suffix == "csv":
                assert response.content == from_page.content
            else:
                sheet = load_workbook(io.BytesIO(response.content)).active
                ours = [[c.value for c in row] for row in sheet.iter_rows()]
                theirs = [[c.value for c in row] for row in load_workbook(io.BytesIO(from_page.content)).active.iter_rows()]
                assert ours == theirs and len(ours) > 1


async def test_outbox_and_dead_letters_for_the_office_only(api, as_user):
    await new_task(MARKET)  # queues the assignment notice
    office, page = await api("office"), await as_user("office")
    listed = ok(await office.get("/api/outbox", params={"per_page": 20}))
    html = BeautifulSoup((await page.get("/outbox")).text, "html.parser")
    assert [s.get_text(strip=True) for s in html.select("summary.subject")] == [m["subject"] for m in listed["items"]]
    assert listed["total"] >= 1
    dead = ok(await office.get("/api/outbox", params={"status": "dead"}))
    assert all(m["status"] == "dead" for m in dead["items"])
    sent = ok(await office.get("/api/outbox", params={"status": "queued"}))
    assert all(m["status"] == "queued" for m in sent["items"])
    assert "status" in assert_error(await office.get("/api/outbox", params={"status": "lost"}), 400)["errors"]
    for role in ("convenor", "street", "unit"):
        assert_error(await (await api(role)).get("/api/outbox"), 403)
