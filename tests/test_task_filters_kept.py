"""tasks.views.task_conditions keeps the conditions it makes (the workbench asks for the same five
on every home page): what it answers from the kept ones is what it would make afresh, for every
account and filter, and nothing a caller does to an answer, nor a change of the yellow limit, gives
a stale one. Also: the workbench's dead-letter count is the dead-letter list's condition."""

from __future__ import annotations

from typing import Any

import pytest

from conference.mail import services as mail
from conference.notifications.tables import Notification
from conference.roles import Role
from conference.settings import get_settings, reset_settings
from conference.sqlcompile import SQL
from conference.tasks import views
from conference.tasks.services import yellow_until
from conference.timefmt import today
from conference.workbench.services import TASK_QUERIES
from tests.factories import actor

ACCOUNTS = ("admin", "office", "office_luozhuang", "convenor", "street", "street_luozhuang", "unit", "unit_police")
QUERIES: list[dict[str, str]] = [
    *TASK_QUERIES.values(), {}, {"status": "open", "alert": "red", "unit": "3"}, {"conference": "2"},
    {"conference": "1", "below": "1"}, {"closed_from": "2026-01-01", "closed_to": "2026-06-30"},
    {"rated_from": "2026-02-01", "deadline_from": "2026-03-01", "deadline_to": "bad"},
    {"q": "50%_off\x00", "alert": "yellow", "status": "assigned"}, {"status": "nonsense", "alert": "?"},
]


def made(query: dict[str, str], role: str) -> tuple[tuple[str, list[Any]], dict[str, str]]:
    """The conditions made afresh (without `below`, which reads the conferences: not kept)."""
    condition, extra = views._filter_conditions.__wrapped__(
        role == Role.UNIT, views._filter_items(query), today(),
        yellow_until(today()) if query.get("alert") == "yellow" else None, get_settings().tz, None)
    return condition.compile_string("sqlite"), extra


@pytest.mark.parametrize("username", ACCOUNTS)
async def test_kept_conditions_are_the_ones_made(database_url: str, username: str) -> None:
    who = await actor(username)
    for query in QUERIES:
        for _ in range(2):  # made, then kept
            condition, extra = await views.task_conditions(who, query)
            if query.get("below") == "1":
                assert extra["below"] == "1" and "IN (" in condition.compile_string("sqlite")[0]
                continue
            assert (condition.compile_string("sqlite"), extra) == made(query, who.role), (username, query)


async def test_an_answer_changed_by_its_caller_changes_no_later_answer(database_url: str) -> None:
    office = await actor("office")
    _condition, extra = await views.task_conditions(office, {"status": "assigned"})
    extra["per_page"] = "100"  # as the task list does
    assert (await views.task_conditions(office, {"status": "assigned"}))[1] == {"status": "assigned"}


async def test_a_new_yellow_limit_is_used_at_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    office = await actor("office")
    before, _extra = await views.task_conditions(office, {"alert": "yellow"})
    monkeypatch.setenv("SUPERVISION_YELLOW_WORKDAYS", str(get_settings().supervision_yellow_workdays + 5))
    reset_settings()
    try:
        after, _extra = await views.task_conditions(office, {"alert": "yellow"})
        assert yellow_until(today()) in after.compile_string("sqlite")[1]
        assert after.compile_string("sqlite") != before.compile_string("sqlite")
    finally:
        monkeypatch.delenv("SUPERVISION_YELLOW_WORKDAYS")
        reset_settings()


@pytest.mark.parametrize("username", ("admin", "office", "office_luozhuang"))
async def test_the_dead_letter_count_is_the_lists_condition(database_url: str, username: str) -> None:
    who = await actor(username)
    # The condition as Piccolo's condition objects make it, and the count around it.
    where = await mail.scope(who)
    dead = Notification.status == "dead"
    objects = dead if where is None else (dead & where)
    piccolo = SQL('SELECT {} FROM "notification" WHERE {}', SQL("COUNT(*) AS n"), objects.querystring)
    written = await mail.dead_letters_sql(who)
    condition = (await mail.dead_letters_condition(who)).querystring
    for engine_type in ("sqlite", "postgres"):
        assert written.compile_string(engine_type) == piccolo.compile_string(engine_type), username
        assert condition.compile_string(engine_type) == objects.querystring.compile_string(engine_type), username
