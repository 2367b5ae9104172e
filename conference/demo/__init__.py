"""Demo data for Linyi (临沂市), told as a story on its own calendar: the registry and one account
per role (registry, accounts), meetings (meetings), calendar feeds and outbox (feeds), resolutions
and tasks (tasks), minutes (minutes). Loading is idempotent. Tests use load_demo and the named demo
accounts (DEMO_ACCOUNTS, DEMO_PASSWORD) only."""

from __future__ import annotations

import datetime as dt

from conference.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD, print_logins
from conference.demo.registry import START, load_registry_demo
from conference.registry.tables import Conference
from conference.settings import get_settings
from conference.timefmt import reset_story_clock, set_story_clock

__all__ = ["DEMO_ACCOUNTS", "DEMO_PASSWORD", "load_demo", "print_logins"]


async def load_demo(only_if_empty: bool = False) -> bool:
    if only_if_empty and await Conference.count() > 0:
        return False
    created_any = False
    # The registry and the accounts were set up when the conferences started (START), on the story's
    # clock like the rest of the demo (conference.demo.meetings.StoryClock).
    clock = set_story_clock(dt.datetime.combine(START, dt.time(9, 0), get_settings().tz))
    try:
        created_any = await load_registry_demo(created_any)
    finally:
        reset_story_clock(clock)
    return await _load_rest(created_any)


async def _load_rest(created_any: bool) -> bool:
    from conference.demo.meetings import load_meeting_demo

    created_any |= await load_meeting_demo()
    from conference.demo.feeds import load_calendar_demo

    created_any |= await load_calendar_demo()
    from conference.demo.tasks import load_task_demo

    created_any |= await load_task_demo()
    from conference.demo.minutes import load_minutes_demo

    created_any |= await load_minutes_demo()
    return created_any
