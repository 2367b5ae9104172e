"""SQL building blocks of the supervision statements: Piccolo QueryStrings (run by
`conference.db.fetch`; the same text runs on SQLite and PostgreSQL), composed by nesting, every value
bound: the conference scope as a bound IN list, the one dialect difference (the end of a local day)
and the open task states. Constant SQL (states, measures, grains) stays literal text."""

from __future__ import annotations

import datetime as dt
import re

from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from conference import db
from conference.db import engine
from conference.settings import get_settings
from conference.supervision.rates import OPEN_STATES

# The open states as constant text (the supervision indexes lead with the status).
OPEN_SQL = QueryString("('assigned', 'acknowledged', 'in_progress', 'reported_done', 'returned')")
assert str(OPEN_SQL) == "(" + ", ".join(f"'{s}'" for s in OPEN_STATES) + ")", "OPEN_SQL is rates.OPEN_STATES"
ZONE_RE = re.compile(r"^[A-Za-z0-9_+\-/]+$")
TRUE, FALSE, NOTHING = QueryString("1=1"), QueryString("1=0"), QueryString("")
T_CONFERENCE = QueryString("t.conference")


def scope_sql(ids: set[int] | None, column: QueryString = T_CONFERENCE) -> QueryString:
    """`column` in the conferences `ids` (bound; an empty set matches no row), or 1=1 for all."""
    return TRUE if ids is None else QueryString("{} IN ({})", column, db.ids(ids))


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


def end_of_day(column: QueryString) -> QueryString:
    """SQL for the instant (UTC) at which the local day in date `column` ends, i.e. local midnight
    of the next day. PostgreSQL applies the zone's rules; SQLite stores timestamps as UTC text
    ('2026-11-29 01:25:15.450222+00:00'), so the boundary is built as text of the same shape with the
    zone's current UTC offset (fixed for Asia/Shanghai) and compared as text. East of UTC that
    instant falls on the same UTC date, so it is the date followed by the time of day ('2026-11-29'
    || ' 16:00:00' for +08:00): plain text, no date function evaluated on every row of a range (the
    rate statement's branches read some 80,000 index entries each on the 500,000-task bench; the
    concatenation took the statement from about 240 to 195 ms). The text equals what datetime()
    gives, so the comparisons are unchanged. The zone's name, the time and the offset are bound."""
    settings = get_settings()
    if is_postgres():
        if not ZONE_RE.match(settings.time_zone):
            raise ValueError(f"unexpected time zone name {settings.time_zone!r}")
        return QueryString("(({} + 1)::timestamp AT TIME ZONE CAST({} AS text))", column, settings.time_zone)
    offset = dt.datetime.now(settings.tz).utcoffset() or dt.timedelta()
    minutes = -int(offset.total_seconds() // 60)
    if -24 * 60 < minutes < 0:  # east of UTC: local midnight is at 24:00 + minutes UTC, the same date
        at = 24 * 60 + minutes
        return QueryString("({} || {})", column, f" {at // 60:02d}:{at % 60:02d}:00")
    return QueryString("datetime({}, '+1 day', {})", column, f"{minutes:+d} minutes")

