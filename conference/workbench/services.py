"""What waits for each role, as cards: a count, a link to the list filtered to exactly those
records, and a note (the oldest age, the nearest deadline, the days left).

Every count is asked of the list's own condition builder (tasks.views.count_tasks,
meetings.views.count_meetings, agenda.views.count_items, ...), so the number on a card is the
number of rows its link shows, and each role sees only what its lists show it. The queries are
a fixed set per role (counts of one kind share one query; the counts of tasks, meetings, dead
letters, plenaries, items and special requests run as one statement), whatever the amount of data."""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from piccolo.querystring import QueryString

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda import views as agenda_views
from conference.db import as_datetime, engine, fetch, joined
from conference.i18n import gettext as _
from conference.mail import services as mail_services
from conference.meetings import views as meeting_views
from conference.meetings.views import MeetingFilter
from conference.roles import Role
from conference.settings import get_settings
from conference.sqlcompile import SQL
from conference.tasks import views as task_views
from conference.tasks.services import yellow_until
from conference.timefmt import cn_datetime, local, today

# How urgent a card is: the order of the cards, and their colour (danger > warn > info).
DANGER, WARN, INFO = "danger", "warn", "info"
_TONE_RANK = {DANGER: 0, WARN: 1, INFO: 2}


class Card(NamedTuple):
    """A tuple, so that the page's loop unpacks it instead of reading each field through the
    template environment (ten reads a card)."""

    key: str
    label: str
    waiting: int  # how many records wait (not `count`, a method of every tuple)
    href: str
    tone: str = INFO
    note: str = ""


@functools.cache  # a few dozen distinct links, the same on every request
def _link(path: str, **params: str) -> str:
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def _nearest(value: Any, text: str) -> str:
    moment = as_datetime(value)  # MIN() of a timestamp: text on SQLite
    return text.format(when=cn_datetime(local(moment))) if moment is not None else ""


def ordered(cards: list[Card]) -> list[Card]:
    """Most urgent first: cards with something waiting before empty ones, then by tone, then as
    listed (each role's list is written in order of urgency)."""
    return sorted(cards, key=lambda c: (c.waiting == 0, _TONE_RANK[c.tone]))


# ---------------------------------------------------------------- per role


TASK_QUERIES: dict[str, dict[str, str]] = {
    "red": {"alert": "red"}, "unack": {"alert": "unack"}, "yellow": {"alert": "yellow"},
    "extension_requested": {"status": "extension_requested"}, "reported_done": {"status": "reported_done"},
    "assigned": {"status": "assigned"}, "to_rate": {"status": "to_rate"},
    "extension_decided": {"status": "extension_decided"},
}


def _meeting_link(todo: str) -> str:
    # The nearest meeting first: sorted by start, ascending.
    return _link("/meetings", todo=todo, sort="starts_at", desc="0")


def _task_links(counts: dict[str, int]) -> dict[str, tuple[int, str]]:
    return {k: (n, _link("/tasks", **TASK_QUERIES[k])) for k, n in counts.items()}


async def _together(*parts: QueryString) -> dict[str, Any]:
    """The row of several one-row count statements run as one (their columns named apart)."""
    tables = joined((SQL("({}) AS part_" + str(i), part) for i, part in enumerate(parts)), " CROSS JOIN ")
    return (await fetch(SQL("SELECT * FROM {}", tables)))[0]


OFFICE_TASKS = {k: TASK_QUERIES[k] for k in ("red", "unack", "yellow", "extension_requested", "reported_done")}
OFFICE_MEETINGS = {todo: MeetingFilter(todo=todo) for todo in ("notify", "replies", "minutes_returned")}
TRIAGE = {"status": "submitted"}


# Count statements that depend only on who asks, the conferences they see, the day and the
# settings, made once per such key (each page asks for the same ones): the key holds every input
# their builders read (the actor's fields, the conferences from the scope read, the day, the yellow
# limit, which follows the holiday calendar, the settings, the engine's kind). What depends on
# the moment (the meetings' counts) is made on every request. Only the statements are kept: the
# counts are read anew each time.
_KEPT: dict[tuple[Any, ...], tuple[QueryString, ...]] = {}
STATEMENTS_KEPT = 512


async def _kept(name: str, actor: Actor, day: dt.date,
                build: Callable[[], Awaitable[tuple[QueryString, ...]]]) -> tuple[QueryString, ...]:
    visible = await visible_conference_ids(actor)
    key = (name, actor, None if visible is None else frozenset(visible), day, yellow_until(day), get_settings(),
           type(engine()))
    found = _KEPT.get(key)
    if found is None:
        found = await build()
        if len(_KEPT) >= STATEMENTS_KEPT:
            _KEPT.clear()
        _KEPT[key] = found
    return found


async def office_cards(actor: Actor) -> list[Card]:
    day = today()

    async def same_all_day() -> tuple[QueryString, ...]:
        return (await task_views.task_counts_sql(actor, OFFICE_TASKS, "task_"),
                await mail_services.dead_letters_sql(actor, "dead"),
                await meeting_views.plenaries_due_sql(actor, day, "plenaries"),
                await agenda_views.count_items_sql(actor, TRIAGE, "items_"))

    tasks_sql, dead_sql, plenaries_sql, items_sql = await _kept("office", actor, day, same_all_day)
    # The tasks', meetings', dead letters', plenaries' and items' counts in one statement.
    row = await _together(tasks_sql, await meeting_views.meeting_counts_sql(actor, OFFICE_MEETINGS, "meeting_"),
                          dead_sql, plenaries_sql, items_sql)
    tasks = _task_links(task_views.task_counts(row, OFFICE_TASKS, "task_"))
    meetings = meeting_views.meeting_counts(row, OFFICE_MEETINGS, "meeting_")
    dead, plenaries = int(row["dead"]), int(row["plenaries"])
    triage = agenda_views.item_counts(row, "items_")
    oldest = as_datetime(triage["oldest"])
    half_end = meeting_views.half_year(day)[1]
    return [
        Card("tasks_red", _("已逾期任务"), *tasks["red"], tone=DANGER),
        Card("tasks_unack", _("超时未签收任务"), *tasks["unack"], tone=DANGER),
        Card("dead_letters", _("发送失败的邮件"), dead, "/mail/dead-letters", tone=DANGER),
        Card("items_submitted", _("待受理议题"), triage["count"],
             _link("/items", status="submitted", sort="age", desc="1"), tone=WARN,
             note=_("最久已等待 {n} 天").format(n=(day - local(oldest).date()).days) if oldest else ""),
        Card("extension_requested", _("延期申请待审批"), *tasks["extension_requested"], tone=WARN),
        Card("reported_done", _("已报办结待销号"), *tasks["reported_done"], tone=WARN),
        Card("minutes_returned", _("召集人退回的纪要"), meetings["minutes_returned"]["count"],
             _meeting_link("minutes_returned"), tone=WARN),
        Card("meetings_notify", _("待发送或重发通知的会议"), meetings["notify"]["count"], _meeting_link("notify"),
             tone=WARN, note=_nearest(meetings["notify"]["first"], _("最近一场 {when}"))),
        Card("meetings_replies", _("回执未齐的会议"), meetings["replies"]["count"], _meeting_link("replies"),
             note=_nearest(meetings["replies"]["first"], _("最近一场 {when} 开会，回执截止于会前"))),
        Card("tasks_yellow", _("即将到期任务"), *tasks["yellow"]),
        Card("plenaries_due", _("本半年待安排全体会议"), plenaries, "/meetings/plenaries?state=due",
             tone=WARN if plenaries and (half_end - day).days < 45 else INFO,
             note=_("距半年结束还有 {n} 天").format(n=(half_end - day).days) if plenaries else ""),
    ]


CONVENOR_TASKS = {"red": TASK_QUERIES["red"]}
CONVENOR_MEETINGS = {"minutes_review": MeetingFilter(todo="minutes_review")}


async def convenor_cards(actor: Actor) -> list[Card]:
    row = await _together(await task_views.task_counts_sql(actor, CONVENOR_TASKS, "task_"),
                          await meeting_views.meeting_counts_sql(actor, CONVENOR_MEETINGS, "meeting_"),
                          await meeting_views.special_requests_sql(actor, "requested", "requests"))
    tasks = _task_links(task_views.task_counts(row, CONVENOR_TASKS, "task_"))
    meetings = meeting_views.meeting_counts(row, CONVENOR_MEETINGS, "meeting_")
    requests = int(row["requests"])
    return [
        Card("minutes_review", _("待审签纪要"), meetings["minutes_review"]["count"], _meeting_link("minutes_review"),
             tone=DANGER),
        Card("special_requested", _("待决定的专题会议提请"), requests,
             _link("/special-requests", status="requested", sort="date"), tone=WARN),
        Card("tasks_red", _("所召集会议的逾期任务"), *tasks["red"], tone=WARN),
    ]


STREET_TASKS = {"to_rate": TASK_QUERIES["to_rate"]}
STREET_MEETINGS = {"street_items": MeetingFilter(todo="street_items")}
RETURNED = {"status": "returned"}


async def street_cards(actor: Actor) -> list[Card]:
    row = await _together(await task_views.task_counts_sql(actor, STREET_TASKS, "task_"),
                          await meeting_views.meeting_counts_sql(actor, STREET_MEETINGS, "meeting_"),
                          await meeting_views.special_requests_sql(actor, "decided", "decided"),
                          await agenda_views.count_items_sql(actor, RETURNED, "items_"))
    tasks = _task_links(task_views.task_counts(row, STREET_TASKS, "task_"))
    meetings = meeting_views.meeting_counts(row, STREET_MEETINGS, "meeting_")
    decided = int(row["decided"])
    returned = agenda_views.item_counts(row, "items_")
    return [
        Card("items_returned", _("被退回的议题"), returned["count"], _link("/items", status="returned"), tone=DANGER),
        Card("tasks_to_rate", _("已办结待评价的任务"), *tasks["to_rate"], tone=WARN),
        Card("special_decided", _("专题会议提请的答复（近30天）"), decided, _link("/special-requests", status="decided")),
        Card("meetings_street_items", _("即将召开、含本街道议题的会议"), meetings["street_items"]["count"],
             _meeting_link("street_items"), note=_nearest(meetings["street_items"]["first"], _("最近一场 {when}"))),
    ]


UNIT_TASKS = {k: TASK_QUERIES[k] for k in ("red", "assigned", "yellow", "extension_decided")}
UNIT_MEETINGS = {"minutes_recent": MeetingFilter(todo="minutes_recent")}


async def unit_cards(actor: Actor) -> list[Card]:
    row = await _together(await task_views.task_counts_sql(actor, UNIT_TASKS, "task_"),
                          await meeting_views.meeting_counts_sql(actor, UNIT_MEETINGS, "meeting_"))
    tasks = _task_links(task_views.task_counts(row, UNIT_TASKS, "task_"))
    meetings = meeting_views.meeting_counts(row, UNIT_MEETINGS, "meeting_")
    invitations = await meeting_views.count_invitations_to_answer(actor)
    return [
        Card("tasks_red", _("已逾期任务"), *tasks["red"], tone=DANGER),
        Card("invitations", _("待回复的会议邀请"), invitations["count"],
             _link("/my/invitations", show="to_answer", sort="starts_at"), tone=WARN,
             note=_nearest(invitations["first"], _("最早须在 {when} 会前回复"))),
        Card("tasks_assigned", _("待签收任务"), *tasks["assigned"], tone=WARN),
        Card("tasks_yellow", _("即将到期任务"), *tasks["yellow"], tone=WARN),
        Card("extension_decided", _("延期申请已答复"), *tasks["extension_decided"]),
        Card("minutes_recent", _("近30天印发的会议纪要"), meetings["minutes_recent"]["count"],
             _link("/meetings", todo="minutes_recent")),
    ]


ROLE_CARDS: dict[str, Callable[[Actor], Awaitable[list[Card]]]] = {Role.ADMIN: office_cards, Role.OFFICE: office_cards, Role.CONVENOR: convenor_cards,
              Role.STREET: street_cards, Role.UNIT: unit_cards}


async def workbench(actor: Actor) -> list[Card]:
    """The actor's cards, most urgent first (none for an unknown role)."""
    build = ROLE_CARDS.get(actor.role)
    return ordered(await build(actor)) if build is not None else []
