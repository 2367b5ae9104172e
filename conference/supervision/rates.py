"""The four supervision rates (督办统计): their names, their rules as shown to readers (RATE_RULES,
the single text of each rule), the period they are counted over, and the arithmetic on counted
figures (Figures, the 合计 row, the assessment score). No SQL here: the statements that count live in
conference.supervision.views (over the task table) and conference.supervision.rollup (over the
per-day rollup kept by triggers); both feed the same Figures.

The rates (domain.md), counted over tasks that are not cancelled, for a period [start, end] of
local dates (TIME_ZONE, Asia/Shanghai), as of `day` (today). A task counts in a rate only once its
outcome is settled, so no unit is marked down before its time is up:

- response rate 响应率 = tasks acknowledged in time / tasks whose acknowledgement is settled in the
  period. "In time" means acknowledged_at is before the end (local midnight) of the task's ack_due
  day; such a task counts in the period of its acknowledgement (possibly before ack_due). A task
  not acknowledged in time counts, as a miss, in the period of its ack_due day once that day has
  ended (ack_due < day). Each task counts in exactly one period.
- resolution rate 解决率 = tasks closed / tasks due in the period; on-time rate 按期办结率 = tasks
  closed by the end of their deadline day / the same tasks due in the period. "Due in the period":
  deadline (the current one: an approved extension moves `task.deadline` itself, see
  tasks.services.decide_extension) falls in the period, and either the deadline day has ended
  (deadline < day) or the task is closed.
- satisfaction rate 满意率 = (satisfied + basically satisfied) / tasks rated in the period (rated_at).

An empty denominator has no rate (shown "—", and left out of the assessment score).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from conference.i18n import gettext as _
from conference.settings import get_settings

MEASURES = ("response", "resolution", "on_time", "satisfaction")
MEASURE_LABELS = {"response": _("响应率"), "resolution": _("解决率"), "on_time": _("按期办结率"), "satisfaction": _("满意率")}
OPEN_STATES = ("assigned", "acknowledged", "in_progress", "reported_done", "returned")
# How each rate is counted, in the words shown under the dashboard's table and in the 督办通报's
# summary: one text per rule, so the two documents can never state them differently.
RATE_RULES = {
    "response": _("响应率 = 按时签收 ÷ 应签收。在签收时限当日结束前签收的任务，按签收日期计入统计期间，算作按时签收（提前签收的同样计入）；"
                  "未按时签收的任务（至今未签收或超时才签收），在签收时限当日结束后，按签收时限日期计入统计期间，算作未按时签收。"
                  "签收时限未到、也还没有签收的任务不计。"),
    "resolution": _("解决率 = 已销号 ÷ 到期。“到期”指办结期限在统计期间内，并且期限当日已结束或任务已经销号的任务；"
                    "经批准延期的任务按延期后的期限计算。期限未到且未销号的任务不计。"),
    "on_time": _("按期办结率 = 按期销号 ÷ 到期（分母与解决率相同）。按期销号指在办结期限当日结束前销号。"),
    "satisfaction": _("满意率 =（满意 + 基本满意）÷ 统计期间内街道评价的任务。"),
    "counts": _("“本期交办”和“本期销号”是统计期间内交办、销号的任务数，仅供参考，不参与计算。"),
}
GROUPS = {"unit": _("成员单位"), "street": _("街道"), "conference": _("联席会议")}
NO_RATE = "—"


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), get_settings().tz)


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rate_text(value: float | None) -> str:
    """66.7% (one decimal), or "—" when there is nothing to divide by."""
    return NO_RATE if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True)
class Period:
    """Local dates, both included."""

    start: dt.date
    end: dt.date

    def instants(self) -> tuple[dt.datetime, dt.datetime]:
        """[local midnight of start, local midnight after end) as aware datetimes."""
        return local_midnight(self.start), local_midnight(self.end + dt.timedelta(days=1))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))


COUNTS = ("assigned", "closed")  # tasks assigned / closed in the period, beside the rates


@dataclass
class Figures:
    """Numerators and denominators of the four rates for one group, and the counts of tasks
    assigned and closed in the period."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def add(self, measure: str, hits: int, total: int) -> None:
        self.hits[measure] += int(hits or 0)
        self.totals[measure] += int(total or 0)

    def add_row(self, row: dict[str, Any]) -> None:
        """One row of `_figures`: the "due" branch feeds both the resolution and the on-time rate."""
        measure = row["measure"]
        if measure == "due":
            self.add("resolution", row["n"], row["d"])
            self.add("on_time", row["n2"], row["d"])
        elif measure == "assigned":
            self.counts[measure] += int(row["d"] or 0)
        elif measure == "closed":
            self.counts[measure] += int(row["n"] or 0)
        else:
            self.add(measure, row["n"], row["d"])

    def rate(self, measure: str) -> float | None:
        return rate(self.hits[measure], self.totals[measure])

    def as_dict(self) -> dict[str, Any]:
        """Plain values for templates and exports: counts, rates (0..1 or None) and their text."""
        return {
            "hits": dict(self.hits), "totals": dict(self.totals), "counts": dict(self.counts),
            "rates": {m: self.rate(m) for m in MEASURES},
            "texts": {m: rate_text(self.rate(m)) for m in MEASURES},
        }



def total_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The 合计 row: every task belongs to exactly one group, so the counts add up."""
    total = Figures()
    for row in rows:
        for m in MEASURES:
            total.add(m, row["hits"][m], row["totals"][m])
        for c in COUNTS:
            total.counts[c] += row["counts"][c]
    return total.as_dict()


def months_ending(day: dt.date, n: int = 12) -> list[dt.date]:
    """First days of the n months ending with the month of `day`, oldest first."""
    months = [day.replace(day=1)]
    while len(months) < n:
        months.insert(0, (months[0] - dt.timedelta(days=1)).replace(day=1))
    return months


def next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)



def score(figures: dict[str, Any]) -> float | None:
    """街道评价得分, 0–100: the mean of the unit's available rates (those with a non-empty
    denominator: response, resolution, on-time, satisfaction) × 100, rounded to one decimal. A rate
    with nothing due is left out of the mean, never counted as 0; a unit with no rate at all (e.g.
    every task assigned recently, nothing due yet) has no score."""
    available = [v for v in figures["rates"].values() if v is not None]
    if not available:
        return None
    return round(sum(available) / len(available) * 100, 1)


def weight_for(kind: str | None) -> float | None:
    """Share of the unit's annual assessment given by the streets' evaluation, from settings;
    only departments and dispatched agencies have one."""
    settings = get_settings()
    return {"department": settings.assessment_weight_department,
            "dispatched_agency": settings.assessment_weight_agency}.get(kind or "")

