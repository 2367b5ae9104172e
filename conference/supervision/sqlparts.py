"""SQL building blocks of the supervision statements (raw SQL on the fast read path,
`conference.db.fetch`; the same text runs on SQLite and PostgreSQL): bound parameters in placeholder
order, the conference scope as an IN list, the one dialect difference (the end of a local day) and
the open task states."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from conference.db import engine, int_list
from conference.settings import get_settings
from conference.supervision.rates import OPEN_STATES

OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN_STATES) + ")"
ZONE_RE = re.compile(r"^[A-Za-z0-9_+\-/]+$")


class Params(list[Any]):
    """Collects bound values in the order their `{}` placeholders appear in the SQL text:
    `f"... t.deadline >= {p(day)} ..."` appends `day` and writes `{}`."""

    def __call__(self, value: Any) -> str:
        self.append(value)
        return "{}"



def scope_sql(ids: set[int] | None, column: str = "t.conference") -> str:
    return "1=1" if ids is None else f"{column} IN ({int_list(ids)})"


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


def end_of_day(column: str) -> str:
    """SQL for the instant (UTC) at which the local day in date `column` ends, i.e. local midnight
    of the next day. PostgreSQL applies the zone's rules; SQLite stores timestamps as UTC text
    ('2026-11-29 01:25:15.450222+00:00'), so the boundary is built as text of the same shape with the
    zone's current UTC offset (fixed for Asia/Shanghai) and compared as text. East of UTC that
    instant falls on the same UTC date, so it is the date followed by the time of day ('2026-11-29'
    || ' 16:00:00' for +08:00): plain text, no date function evaluated on every row of a range (the
    rate statement's branches read some 80,000 index entries each on the 500,000-task bench; the
    concatenation took the statement from about 240 to 195 ms). The text equals what datetime()
    gives, so the comparisons are unchanged."""
    settings = get_settings()
    if is_postgres():
        if not ZONE_RE.match(settings.time_zone):
            raise ValueError(f"unexpected time zone name {settings.time_zone!r}")
        return f"(({column} + 1)::timestamp AT TIME ZONE '{settings.time_zone}')"
    offset = dt.datetime.now(settings.tz).utcoffset() or dt.timedelta()
    minutes = -int(offset.total_seconds() // 60)
    if -24 * 60 < minutes < 0:  # east of UTC: local midnight is at 24:00 + minutes UTC, the same date
        at = 24 * 60 + minutes
        return f"({column} || ' {at // 60:02d}:{at % 60:02d}:00')"
    return f"datetime({column}, '+1 day', '{minutes:+d} minutes')"



def as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))

