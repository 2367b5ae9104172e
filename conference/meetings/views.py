"""Read side of meetings: lists, calendar and detail in a fixed number of queries (joins and
aggregates, never one query per row), as plain dicts for templates and the API."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count, Min
from piccolo.querystring import QueryString

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.db import as_datetime, fetch, ids
from conference.i18n import gettext as _
from conference.meetings import notice
from conference.meetings.states import MEETING_STATUS_LABELS, REQUEST_STATUS_LABELS
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.meetings.visibility import visible_meetings, visible_special_requests
from conference.roles import SUPERVISORS, Role
from conference.settings import get_settings
from conference.sqlcompile import SQL
from conference.timefmt import now
from conference.visibility import scoped
from conference.web.listing import MAX_DAY, MIN_DAY

RECENT_DAYS = 30  # "recently" on the workbench and the lists it links to: decisions, published minutes
# To-do views of the meeting list, the targets of the workbench's counts (conference.workbench).
TODO_LABELS = {
    "notify": _("待发送或重发通知"), "replies": _("回执未齐（会前）"), "minutes_review": _("纪要待审签"),
    "minutes_returned": _("纪要退回修改"), "street_items": _("即将召开（含本街道议题）"),
    "minutes_recent": _("近30天印发纪要"),
}
# The special-request list's status filter: the states and the street's recent answers.
REQUEST_FILTERS = {**REQUEST_STATUS_LABELS, "decided": _("近30天已答复")}
# How the list names a meeting's state: minutes the convenor returned are no longer "in review".
DISPLAY_STATUS_LABELS = {**MEETING_STATUS_LABELS, "minutes_returned": _("纪要退回修改")}


@dataclass(frozen=True)
class MeetingFilter:
    conference_id: int | None = None
    kind: str = ""
    status: str = ""
    start: dt.date | None = None  # on or after, local date
    end: dt.date | None = None  # on or before, local date
    q: str = ""
    todo: str = ""  # a key of TODO_LABELS


def _todo_sql(actor: Actor, todo: str) -> QueryString | None:
    """The condition on meeting `m` of one to-do view, or None. The reply deadline is the start of
    the meeting (a meeting has no separate reply deadline)."""
    moment = now()
    if todo == "notify":  # as services.notify_meeting: some invited unit has not been told of this version
        return SQL("m.status IN ('draft', 'notified') AND EXISTS (SELECT 1 FROM invitation i WHERE i.meeting = m.id "
                   "AND (i.notified_sequence IS NULL OR i.notified_sequence < m.sequence))")
    if todo == "replies":  # told, not answered, and the meeting still ahead
        return SQL("m.status = 'notified' AND m.starts_at > {} AND EXISTS (SELECT 1 FROM invitation i "
                   "WHERE i.meeting = m.id AND i.reply = 'pending' AND i.notified_sequence IS NOT NULL)", moment)
    if todo in ("minutes_review", "minutes_returned"):
        state = "submitted" if todo == "minutes_review" else "returned"
        return SQL("EXISTS (SELECT 1 FROM minutes mi WHERE mi.meeting = m.id AND mi.status = {})", state)
    if todo == "street_items":
        return SQL("m.status IN ('draft', 'notified') AND m.starts_at > {} AND EXISTS (SELECT 1 FROM agenda_item a "
                   "WHERE a.meeting = m.id AND a.street = {})", moment, int(actor.street_id or 0))
    if todo == "minutes_recent":
        return SQL("m.status = 'minutes_published' AND EXISTS (SELECT 1 FROM minutes mi JOIN minutes_publication mp "
                   "ON mp.minutes = mi.id WHERE mi.meeting = m.id AND mp.published_at >= {})",
                   moment - dt.timedelta(days=RECENT_DAYS))
    return None


async def scope_sql(actor: Actor) -> QueryString:
    """The meetings the actor may see (visibility.visible_meetings) as a derived table for SQL
    (`FROM {} m`)."""
    return scoped(Meeting, await visible_meetings(actor))


INVITATION_FILTERS = {"to_answer": _("待回复（会前）")}


def own_invitations_condition(actor: Actor, show: str) -> Any:
    """The unit's invitations on /my/invitations: those of meetings it has been told of; with
    show=to_answer only those still unanswered before the meeting starts (the reply deadline)."""
    where = (Invitation.unit == (actor.unit_id or 0)) & (Invitation.meeting.status != "draft")
    if show == "to_answer":
        where = where & (Invitation.reply == "pending") & (Invitation.meeting.status == "notified") & (
            Invitation.meeting.starts_at > now()) & Invitation.notified_sequence.is_not_null()
    return where


async def count_invitations_to_answer(actor: Actor) -> dict[str, Any]:
    """How many invitations the unit still has to answer, and the earliest deadline among them."""
    row = await Invitation.select(Count(Invitation.id).as_alias("n"),
                                  Min(Invitation.meeting.starts_at).as_alias("first")).where(
        own_invitations_condition(actor, "to_answer")).first()
    assert row is not None
    return {"count": int(row["n"]), "first": row["first"]}


async def special_request_scope(actor: Actor) -> Any:
    """The requests the actor may list (visibility.visible_special_requests)."""
    return await visible_special_requests(actor)


async def special_request_conditions(actor: Actor, status: str) -> tuple[Any, str]:
    """The condition of the special-request list for a status filter (a key of REQUEST_FILTERS,
    else none) and the filter in effect."""
    smr = SpecialMeetingRequest
    where = await special_request_scope(actor)
    clause: Any = None
    if status == "decided":
        clause = smr.status.is_in(["approved", "declined"]) & (smr.decided_at >= now() - dt.timedelta(days=RECENT_DAYS))
    elif status in REQUEST_STATUS_LABELS:
        clause = smr.status == status
    else:
        status = ""
    if clause is not None:
        where = clause if where is None else (where & clause)
    return where, status


async def count_special_requests(actor: Actor, status: str) -> int:
    return int((await fetch(await special_requests_sql(actor, status)))[0]["n"])


async def special_requests_sql(actor: Actor, status: str, name: str = "n") -> QueryString:
    """The one-row statement of count_special_requests, its count named `name` (a constant)."""
    where, _status = await special_request_conditions(actor, status)
    return SQL('SELECT {} FROM "special_meeting_request" WHERE {}', SQL("COUNT(*) AS " + name),
               SQL("1 = 1") if where is None else where.querystring)


def _local_start(day: dt.date) -> dt.datetime:
    # Clamped, so that a filter like 9999-12-31 (from the API) cannot overflow the arithmetic.
    day = min(max(day, MIN_DAY), MAX_DAY)
    return dt.datetime.combine(day, dt.time(), get_settings().tz)


def _conditions(actor: Actor, flt: MeetingFilter) -> QueryString:
    """The WHERE clause of the filter on meeting `m` (read through scope_sql, which limits the rows
    to the actor's)."""
    # One QueryString: the conditions joined by AND, their values in order (the SQL of a QueryString
    # per condition, joined, without making one per condition).
    where = ["1 = 1"]
    values: list[Any] = []

    def add(condition: str, *bound: Any) -> None:
        where.append(condition)
        values.extend(bound)

    if flt.conference_id:
        add("m.conference = {}", int(flt.conference_id))
    if flt.kind:
        add("m.kind = {}", flt.kind)
    if flt.status:
        add("m.status = {}", flt.status)
    if flt.start:
        add("m.starts_at >= {}", _local_start(flt.start))
    if flt.end:
        add("m.starts_at < {}", _local_start(min(flt.end, MAX_DAY) + dt.timedelta(days=1)))
    if flt.q:
        term = "%" + flt.q.replace("%", "").replace("_", "").replace("\x00", "") + "%"  # PostgreSQL rejects NUL
        add("(m.title LIKE {} OR m.location LIKE {})", term, term)
    if (todo := _todo_sql(actor, flt.todo)) is not None:
        add("{}", todo)
    return SQL(" AND ".join(where), *values)


async def count_meetings(actor: Actor, filters: dict[str, MeetingFilter]) -> dict[str, dict[str, Any]]:
    """For each filter, how many rows the meeting list shows and the earliest start among them
    (`first`, a datetime on both databases), in one query (plus the scope's)."""
    if not filters:
        return {}
    return meeting_counts((await fetch(await meeting_counts_sql(actor, filters)))[0], filters)


async def meeting_counts_sql(actor: Actor, filters: dict[str, MeetingFilter], prefix: str = "") -> QueryString:
    """The one-row statement of count_meetings: columns prefix + n_0, prefix + first_0, n_1 ... in
    the order of `filters` (a constant prefix: the workbench runs it beside other counts)."""
    conditions: list[QueryString] = []
    for flt in filters.values():
        condition = _conditions(actor, flt)
        conditions += [condition, condition]
    columns = SQL(_count_columns(len(filters), prefix), *conditions)
    return SQL("SELECT {} FROM {} m", columns, await scope_sql(actor))


@functools.cache  # one per (number of filters, prefix): constants of the callers
def _count_columns(count: int, prefix: str) -> str:
    # Result columns n_0, first_0, n_1 ... in the order of the filters (names made here, not from input).
    return ", ".join(f"COALESCE(SUM(CASE WHEN {{}} THEN 1 ELSE 0 END), 0) AS {prefix}n_{i}, "
                     f"MIN(CASE WHEN {{}} THEN m.starts_at END) AS {prefix}first_{i}" for i in range(count))


def meeting_counts(row: dict[str, Any], filters: dict[str, MeetingFilter], prefix: str = "") -> dict[str, dict[str, Any]]:
    """count_meetings' answer from the row of meeting_counts_sql."""
    return {name: {"count": int(row[f"{prefix}n_{i}"]), "first": as_datetime(row[f"{prefix}first_{i}"])}
            for i, name in enumerate(filters)}


# The orders meeting_rows takes (the sorts of the list page and of the API), as fixed SQL.
ORDERS = {order: SQL(order) for order in (
    "m.starts_at ASC", "m.starts_at DESC", "m.title ASC", "m.title DESC", "m.status ASC", "m.status DESC")}


async def meeting_rows(actor: Actor, flt: MeetingFilter, *, order: str = "m.starts_at DESC", limit: int | None = None,
                       offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Meetings with conference name, presiding convenor, invitation/reply/attendance counts and
    agenda size: two queries (rows and total) whatever the number of meetings. `order`: a key of
    ORDERS."""
    condition = _conditions(actor, flt)
    scope = await scope_sql(actor)
    sort = ORDERS[order]
    paging = SQL(" LIMIT {} OFFSET {}", int(limit), int(offset)) if limit is not None else SQL("")
    # The page's meetings are chosen first (index on starts_at), then only their invitations and
    # items are aggregated: the cost follows the page size, not the size of the tables. CROSS JOIN
    # (the join's condition in WHERE) keeps SQLite reading the page first: otherwise, for an order
    # the index on starts_at gives, it walks every meeting in that order to find the page's (the
    # month calendar: 1.2 ms against 0.6). PostgreSQL plans it as the inner join it is.
    # +m.id (unary plus, the same integer on both databases): an expression has no declared type,
    # so SQLite gives its integer as it is, where a column declared INTEGER goes through Piccolo's
    # converter (bytes -> str -> Decimal -> int, a few microseconds a value: 0.4 ms of the month
    # calendar's 94 rows).
    rows = await fetch(SQL("""
        WITH page AS (SELECT m.id FROM {} m WHERE {} ORDER BY {}, m.id{})
        SELECT +m.id AS id, m.title, m.kind, m.status, m.starts_at, m.ends_at, m.location, +m.conference AS conference,
               +m.sequence AS sequence, c.name AS conference_name, p.name AS presiding_name,
               COALESCE(inv.invited, 0) AS invited, COALESCE(inv.replied, 0) AS replied,
               COALESCE(inv.present, 0) AS present, COALESCE(ag.items, 0) AS items, mi.status AS minutes_status
        FROM page
        CROSS JOIN meeting m
        JOIN conference c ON c.id = m.conference
        LEFT JOIN person p ON p.id = m.presiding
        LEFT JOIN minutes mi ON mi.meeting = m.id
        LEFT JOIN (SELECT meeting, COUNT(*) AS invited,
                          SUM(CASE WHEN reply <> 'pending' THEN 1 ELSE 0 END) AS replied,
                          SUM(CASE WHEN attendance = 'present' THEN 1 ELSE 0 END) AS present
                   FROM invitation WHERE meeting IN (SELECT id FROM page) GROUP BY meeting) inv ON inv.meeting = m.id
        LEFT JOIN (SELECT meeting, COUNT(*) AS items FROM agenda_item
                   WHERE meeting IN (SELECT id FROM page) GROUP BY meeting) ag ON ag.meeting = m.id
        WHERE m.id = page.id
        ORDER BY {}, m.id
    """, scope, condition, sort, paging, sort))
    for row in rows:
        row["display_status"] = display_status(row["status"], row["minutes_status"])
    if limit is None:
        return rows, len(rows)
    total = await fetch(SQL("SELECT COUNT(*) AS n FROM {} m WHERE {}", scope, condition))
    return rows, int(total[0]["n"])


def display_status(status: str, minutes_status: str | None) -> str:
    """The meeting's state as lists name it (a key of DISPLAY_STATUS_LABELS)."""
    return "minutes_returned" if status == "minutes_in_review" and minutes_status == "returned" else status


async def meeting_detail(meeting_id: int) -> dict[str, Any]:
    """Everything the meeting page shows, in four queries."""
    meeting = (await fetch(
        """SELECT m.*, c.name AS conference_name, p.name AS presiding_name, p.title AS presiding_title,
                  mi.status AS minutes_status, mi.doc_number AS minutes_doc_number
           FROM meeting m JOIN conference c ON c.id = m.conference LEFT JOIN person p ON p.id = m.presiding
           LEFT JOIN minutes mi ON mi.meeting = m.id
           WHERE m.id = {}""", meeting_id))[0]
    meeting["display_status"] = display_status(meeting["status"], meeting["minutes_status"])
    invitations = await fetch(
        """SELECT i.id, i.unit, i.role, i.reply, i.attendee_name, i.attendee_title, i.leave_reason, i.replied_at,
                  i.attendance, i.signed_in_at, i.notified_sequence, u.name AS unit_name, u.kind AS unit_kind
           FROM invitation i JOIN member_unit u ON u.id = i.unit WHERE i.meeting = {}
           ORDER BY i.role, u.sort_key, u.name""", meeting_id)
    for inv in invitations:  # 逾期回复: taken after the reply deadline
        inv["late"] = inv["reply"] != "pending" and notice.is_late(inv["replied_at"], meeting["reply_deadline"])
    items = await fetch(
        """SELECT a.id, a.title, a.status, a.urgency, a.position, a.submitted_at, a.meetings_waited, a.street,
                  s.name AS street_name
           FROM agenda_item a LEFT JOIN street s ON s.id = a.street WHERE a.meeting = {}
           ORDER BY a.position, a.id""", meeting_id)
    # Items once on this meeting and since decided (resolved here, or deferred to a later one).
    history = await fetch(
        """SELECT a.id, a.title, a.status, sl.outcome, sl.note, a.street, s.name AS street_name
           FROM agenda_slot sl JOIN agenda_item a ON a.id = sl.item LEFT JOIN street s ON s.id = a.street
           WHERE sl.meeting = {} AND (a.meeting IS NULL OR a.meeting <> sl.meeting) ORDER BY sl.id""", meeting_id)
    counts = {
        "invited": sum(1 for i in invitations if i["role"] == "member"),
        "observers": sum(1 for i in invitations if i["role"] == "observer"),
        "replied": sum(1 for i in invitations if i["reply"] != "pending"),
        "attending": sum(1 for i in invitations if i["reply"] in ("attending", "delegated")),
        "leave": sum(1 for i in invitations if i["reply"] == "leave"),
        "present": sum(1 for i in invitations if i["attendance"] == "present"),
        "absent": sum(1 for i in invitations if i["attendance"] == "absent"),
        "on_leave": sum(1 for i in invitations if i["attendance"] == "leave"),
        "to_notify": sum(1 for i in invitations
                         if i["notified_sequence"] is None or i["notified_sequence"] < meeting["sequence"]),
        # told an older time or place: the meeting cannot be marked held until they hear of the change
        "outdated": sum(1 for i in invitations
                        if i["notified_sequence"] is not None and i["notified_sequence"] < meeting["sequence"]),
    }
    return {"meeting": meeting, "invitations": invitations, "items": items, "history": history, "counts": counts}


def half_year(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the half-year (H1: Jan-Jun, H2: Jul-Dec) containing `day`."""
    if day.month <= 6:
        return dt.date(day.year, 1, 1), dt.date(day.year, 6, 30)
    return dt.date(day.year, 7, 1), dt.date(day.year, 12, 31)


async def plenary_overview(actor: Actor, today: dt.date) -> list[dict[str, Any]]:
    """For every conference the actor sees: last held plenary, next planned one, and whether the
    half-year rule is met (two queries)."""
    visible = await visible_conference_ids(actor)
    where = SQL("1 = 1") if visible is None else SQL("c.id IN ({})", ids(visible))
    conferences = await fetch(SQL(
        "SELECT c.id, c.name, c.level FROM conference c WHERE {} ORDER BY c.level, c.sort_key, c.name", where))
    scope = SQL("1 = 1") if visible is None else SQL("m.conference IN ({})", ids(visible))
    plenaries = await fetch(SQL(
        """SELECT m.id, m.conference, m.title, m.status, m.starts_at FROM meeting m
           WHERE m.kind = 'plenary' AND m.status <> 'cancelled' AND {} ORDER BY m.starts_at""", scope))
    tz = get_settings().tz
    h_start, h_end = half_year(today)
    p_start, p_end = half_year(h_start - dt.timedelta(days=1))
    result = []
    for conf in conferences:
        own = [m for m in plenaries if m["conference"] == conf["id"]]
        for m in own:
            m["day"] = m["starts_at"].astimezone(tz).date()
        held = [m for m in own if m["status"] in ("held", "minutes_in_review", "minutes_published")]
        planned = [m for m in own if m["status"] in ("draft", "notified") and m["day"] >= today]
        this_half = [m for m in own if h_start <= m["day"] <= h_end]
        previous_half = [m for m in held if p_start <= m["day"] <= p_end]
        year_count = sum(1 for m in own if m["day"].year == today.year)
        if any(m in held for m in this_half):
            state = "done"
        elif this_half:
            state = "planned"
        else:
            state = "overdue" if (h_end - today).days < 45 or not previous_half else "due"
        result.append({
            **conf, "last": held[-1] if held else None, "next": planned[0] if planned else None, "state": state,
            "missed_previous": not previous_half, "half_end": h_end,
            "next_title": f"{today.year}年第{year_count + 1}次全体会议",
        })
    return result


PLENARY_DUE = ("due", "overdue")  # no plenary held or planned yet this half-year


async def count_plenaries_due(actor: Actor, today: dt.date) -> int:
    """How many rows /meetings/plenaries?state=due shows: the visible conferences with no
    plenary (other than cancelled) in this half-year, as plenary_overview decides, in SQL."""
    return int((await fetch(await plenaries_due_sql(actor, today)))[0]["n"])


async def plenaries_due_sql(actor: Actor, today: dt.date, name: str = "n") -> QueryString:
    """The one-row statement of count_plenaries_due, its count named `name` (a constant)."""
    visible = await visible_conference_ids(actor)
    scope = SQL("1 = 1") if visible is None else SQL("c.id IN ({})", ids(visible))
    first, last = half_year(today)
    return SQL(
        """SELECT {} FROM conference c WHERE NOT EXISTS (
             SELECT 1 FROM meeting m WHERE m.conference = c.id AND m.kind = 'plenary' AND m.status <> 'cancelled'
             AND m.starts_at >= {} AND m.starts_at < {}) AND {}""",
        SQL("COUNT(*) AS " + name), _local_start(first), _local_start(last + dt.timedelta(days=1)), scope)


async def meeting_detail_for(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """meeting_detail cut to what the actor may see (the meeting itself is checked by the caller
    through services.meeting_for): a unit sees only its own invitation; a street no invitations,
    and on another conference's meeting (where it is only because of its own items) only its own
    items; offices and convenors everything."""
    context = await meeting_detail(meeting_id)
    if actor.role == Role.UNIT:
        context["invitations"] = [i for i in context["invitations"] if i["unit"] == actor.unit_id]
    elif actor.role not in SUPERVISORS:
        context["invitations"] = []
    if actor.role == Role.STREET:
        visible = await visible_conference_ids(actor)
        if visible is not None and context["meeting"]["conference"] not in visible:
            for key in ("items", "history"):
                context[key] = [i for i in context[key] if i["street"] == actor.street_id]
    return context
