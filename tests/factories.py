"""Factories for tests: actors for the demo accounts and records with unique names
(the session database is shared, so every record a test makes must not collide)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.registry.tables import Conference


def unique(prefix: str = "测试") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def actor(username: str) -> Actor:
    row = await User.select(*ACTOR_COLUMNS).where(User.username == username).first()
    assert row is not None, username
    return actor_from_row(row)


async def conference_id(name: str) -> int:
    row = await Conference.select(Conference.id).where(Conference.name == name).first()
    assert row is not None, name
    return int(row["id"])


LANSHAN_STREET = "兰山街道城市基层党建联席会议"
LUOZHUANG_STREET = "罗庄街道城市基层党建联席会议"


def meeting_form(**overrides: Any) -> dict[str, str]:
    day = dt.date.today() + dt.timedelta(days=30)
    form = {"kind": "plenary", "title": unique("全体会议"), "date": day.isoformat(), "start_time": "09:00",
            "end_time": "11:00", "location": "街道办事处三楼会议室"}
    form.update({k: str(v) for k, v in overrides.items()})
    return form


async def make_meeting(username: str = "office", conference: str = LANSHAN_STREET, **overrides: Any) -> int:
    from conference.meetings.services import create_meeting

    return await create_meeting(await actor(username), await conference_id(conference), meeting_form(**overrides))


async def make_past_meeting(username: str = "office", conference: str = LANSHAN_STREET, notified: bool = True) -> int:
    """A meeting that started yesterday, notified (so it can be marked held)."""
    from conference.meetings.lifecycle import notify_meeting

    meeting_id = await make_meeting(username, conference, date=(dt.date.today() - dt.timedelta(days=1)).isoformat())
    if notified:
        await notify_meeting(await actor(username), meeting_id)
    return meeting_id
