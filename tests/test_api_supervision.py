"""The resolutions, supervision, ledger and outbox groups of the JSON API (issue 15 item 1): each
endpoint for the roles office, convenor, street and unit — allowed roles get what the page shows
(same service, same scope), the others 403/404 — and the office's correction of a resolution through
the same rules as the meeting page (office only, before sign-off, version checked, audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conference.audit.tables import AuditEvent
from conference.tasks.tables import Resolution
from conference.timefmt import today
from tests import test_api
from tests.test_api import assert_error
from tests.test_tasks import MARKET, held_meeting, new_task, unit_id

api = test_api.api  # clients with a fresh token per demo account


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
