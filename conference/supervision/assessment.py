"""Annual assessment (考核) of member units, per conference and year:

- 街道评价得分 (the streets' evaluation, a score of its own): the mean of the points of the street
  ratings of the unit's tasks rated in the year (满意 100, 基本满意 60, 不满意 0; RATING_POINTS), in the
  chosen conference and those below it, shown with the number of ratings; no rating, no score.
- 其他工作得分: the score (0–100) the conference's office enters for the unit's other work
  (AssessmentScore, audited, version-checked).
- 综合得分 = 街道评价得分 × w + 其他工作得分 × (1 − w), w being ASSESSMENT_WEIGHT_DEPARTMENT (30%) for
  departments and ASSESSMENT_WEIGHT_AGENCY (60%) for dispatched agencies (rates.weight_for); only
  when both scores exist and the unit has a weight. Ranked by it, highest first, ties sharing a rank.

The four rates are shown beside it for reference, from views.assessment_rows (the dashboard's rules)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from piccolo.querystring import QueryString as Q

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.db import fetch
from conference.errors import Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.records import insert_audited, update_audited
from conference.roles import OFFICE_ROLES
from conference.supervision import bulletin, rates, views
from conference.supervision.scope import Scope, figure_scope
from conference.supervision.sqlparts import scope_sql
from conference.supervision.tables import AssessmentScore
from conference.timefmt import now

RATING_POINTS = {"satisfied": 100, "basically_satisfied": 60, "dissatisfied": 0}
RATINGS = tuple(RATING_POINTS)


def pick_conference(scope: Scope, actor: Actor, chosen: int | None) -> int | None:
    """The conference the sheet is for: the chosen one (already checked by figure_scope), else the
    office's own, else the top one the actor sees."""
    if chosen is not None:
        return chosen
    ids = {int(c["id"]) for c in scope.options}
    if actor.conference_id is not None and actor.conference_id in ids:
        return actor.conference_id
    top = [c for c in scope.options if c.get("parent") not in ids]
    return int(top[0]["id"]) if top else None


async def _ratings(ids: set[int] | None, year: int) -> dict[int, dict[str, int]]:
    lo, hi = rates.Period.year(year).instants()
    rows = await fetch(Q("""SELECT t.unit, t.rating, COUNT(*) AS n FROM task t
                            WHERE {} AND t.status <> 'cancelled' AND t.rating <> ''
                            AND t.rated_at >= {} AND t.rated_at < {} GROUP BY t.unit, t.rating""", scope_sql(ids), lo, hi))
    result: dict[int, dict[str, int]] = {}
    for row in rows:
        if row["rating"] in RATING_POINTS:
            result.setdefault(int(row["unit"]), dict.fromkeys(RATINGS, 0))[row["rating"]] += int(row["n"])
    return result


def evaluation(counts: Mapping[str, int] | None) -> float | None:
    """Mean of the rating points, one decimal; None without ratings."""
    if not counts or not sum(counts.values()):
        return None
    total = sum(counts.values())
    return round(sum(RATING_POINTS[k] * n for k, n in counts.items()) / total, 1)


def combined(evaluation_score: float | None, other: float | None, weight: float | None) -> float | None:
    if evaluation_score is None or other is None or weight is None:
        return None
    return round(evaluation_score * weight + other * (1 - weight), 2)


async def sheet(scope_ids: set[int] | None, conference_id: int | None, year: int, day: dt.date) -> list[dict[str, Any]]:
    """The rows of the sheet, ranked (four statements)."""
    rows = await views.assessment_rows(scope_ids, year, day)
    ratings = await _ratings(scope_ids, year)
    scores: dict[int, dict[str, Any]] = {}
    if conference_id is not None:
        for s in await AssessmentScore.select().where((AssessmentScore.conference == conference_id)
                                                      & (AssessmentScore.year == year)):
            scores[int(s["unit"])] = s
    result = []
    for row in rows:
        counts = ratings.get(int(row["id"]))
        value = evaluation(counts)
        office = scores.get(int(row["id"]))
        other = float(office["score"]) if office else None
        result.append({**row, "ratings": counts or dict.fromkeys(RATINGS, 0),
                       "rated": sum(counts.values()) if counts else 0, "evaluation": value, "other": other,
                       "other_note": office["note"] if office else "", "other_version": office["version"] if office else 0,
                       "combined": combined(value, other, row["weight"])})
    ranked = sorted((r for r in result if r["combined"] is not None), key=lambda r: (-r["combined"], r["name"]))
    previous: float | None = None
    rank = 0
    for i, r in enumerate(ranked, 1):
        if r["combined"] != previous:
            rank, previous = i, r["combined"]
        r["rank"] = rank
    rest = [r for r in result if r["combined"] is None]
    for r in rest:
        r["rank"] = None
    return ranked + rest


def _score_value(form: FormReader) -> float | None:
    raw = form.text("score", _("其他工作得分"), required=True, max_length=6)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100 or (len(raw.split(".")) > 1 and len(raw.split(".")[1]) > 1) or not raw.replace(".", "", 1).isdecimal():
        form.fail("score", _("其他工作得分应为 0 到 100 之间的数，最多一位小数。"))
        return None
    return round(value, 1)


async def save_score(actor: Actor, data: Mapping[str, Any]) -> None:
    """The office enters or changes a unit's other-work score for its conference and year; the
    version read with the page must still be current (else Conflict), audited either way."""
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以录入考核得分。"))
    form = FormReader(data)
    conference = form.text("conference", _("联席会议"), required=True, max_length=9)
    unit = form.text("unit", _("成员单位"), required=True, max_length=9)
    year = form.text("year", _("年度"), required=True, max_length=4)
    version = form.text("version", _("版本"), max_length=9) or "0"
    note = form.text("note", _("说明"), max_length=200)
    value = _score_value(form)
    if not (conference.isdecimal() and unit.isdecimal() and year.isdecimal() and version.isdecimal()):
        raise NotFound(_("没有找到该成员单位，或您无权录入。"))
    form.done()
    conference_id, unit_id, year_n = int(conference), int(unit), int(year)
    visible = await visible_conference_ids(actor)
    if (visible is not None and conference_id not in visible) or not 2000 <= year_n <= 2100:
        raise NotFound(_("没有找到该成员单位，或您无权录入。"))
    scope = await figure_scope(actor, conference_id)
    units = {int(r["id"]) for r in await views.assessment_rows(scope.ids, year_n, dt.date(year_n, 12, 31))}
    if unit_id not in units:
        raise NotFound(_("没有找到该成员单位，或您无权录入。"))
    async with db.atomic():
        current = await AssessmentScore.select().where(
            (AssessmentScore.conference == conference_id) & (AssessmentScore.unit == unit_id)
            & (AssessmentScore.year == year_n)).first()
        values = {"score": value, "note": note, "entered_by": actor.id, "entered_by_name": actor.label, "entered_at": now()}
        if current is None:
            if int(version) != 0:
                raise ValidationFailed({"score": _("该得分已被他人删除或修改，请刷新页面后重新录入。")})
            await insert_audited(actor, AssessmentScore, "assessment_score",
                                 {"conference": conference_id, "unit": unit_id, "year": year_n, **values},
                                 conference_id=conference_id)
        else:
            await update_audited(actor, AssessmentScore, "assessment_score", current, values,
                                 expected_version=int(version), conference_id=conference_id)


RULES = (
    _("街道评价得分（0–100）：该单位在本联席会议及下级联席会议中、当年获得街道评价的督办任务，按“满意”100 分、“基本满意”60 分、"
      "“不满意”0 分取平均值，保留一位小数；括号内为评价件数。没有街道评价的单位不计街道评价得分。"),
    _("其他工作得分（0–100）：由本联席会议办公室录入，录入和修改均记入操作日志。"),
    _("综合得分 = 街道评价得分 × 权重 + 其他工作得分 × （1 − 权重），保留两位小数；权重：部门 {d}%，派驻机构 {a}%（可通过设置调整），"
      "其他类别的单位不计综合得分。两项得分齐全的单位才计综合得分并参与排名；综合得分相同的并列。"),
    _("响应率、解决率、按期办结率、满意率仅供参考，口径与“指标与预警”页相同，统计期间为该年 1 月 1 日至 12 月 31 日，截至今天。"),
)


def rules(weight_department: float, weight_agency: float) -> list[str]:
    d, a = round(weight_department * 100), round(weight_agency * 100)
    return [r.format(d=d, a=a) if "{d}" in r else r for r in RULES]


COLUMNS = [(_("排名"), 6), (_("单位名称"), 28), (_("单位类别"), 10), (_("响应率"), 9), (_("解决率"), 9), (_("按期办结率"), 10),
           (_("满意率"), 9), (_("评价件数"), 8), (_("满意"), 6), (_("基本满意"), 8), (_("不满意"), 7), (_("街道评价得分"), 10),
           (_("其他工作得分"), 10), (_("权重"), 7), (_("综合得分"), 9)]


def xlsx(rows: list[dict[str, Any]], title: str, subtitle: str, kind_labels: Mapping[str, str], notes: list[str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("考核表")
    percent = "0.0%"
    bulletin.write_sheet(ws, title, subtitle, COLUMNS, [
        [r["rank"], r["name"], kind_labels.get(r["kind"], r["kind"]), *[r["rates"][m] for m in rates.MEASURES], r["rated"],
         r["ratings"]["satisfied"], r["ratings"]["basically_satisfied"], r["ratings"]["dissatisfied"], r["evaluation"],
         r["other"], r["weight"], r["combined"]] for r in rows],
        notes, formats={4: percent, 5: percent, 6: percent, 7: percent, 14: "0%"})
    return bulletin.workbook_bytes(wb)
