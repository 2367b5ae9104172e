"""The holiday calendar the office maintains (节假日与调休): holiday ranges, make-up working days,
deletion, a year's import and the seed from chinese-calendar.

Who edits: the calendar is one for the whole district (working-day deadlines of every conference
count on it), so it is kept by the system administrator and by the offices of district- and
city-level conferences; a street conference's office, convenors, streets and units read it.

Every change is audited, raises the counter row (so every server process reads the calendar again,
conference.workdays) and, in the same transaction, recomputes the working-day deadlines it affects
(conference.tasks.services.recompute_workday_deadlines): the provisional ones that reach a year now
entered, and any whose counted days changed; the units whose deadline moved are notified.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from typing import Any

from conference import db, workdays
from conference.accounts.actor import Actor
from conference.audit.services import record
from conference.errors import Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader
from conference.holidays.forms import HOLIDAY_FORM, WORKDAY_FORM
from conference.holidays.forms import KIND_LABELS as KIND_LABELS
from conference.holidays.seed import official_days
from conference.holidays.tables import HolidayCalendar, HolidayDay
from conference.i18n import gettext as _
from conference.records import insert_audited
from conference.registry.tables import Conference
from conference.roles import OFFICE_ROLES, Role
from conference.timefmt import cn_date, now

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_RANGE_DAYS = 31
NOT_FOUND = _("没有找到该日期，或已被删除。")
EDITORS = OFFICE_ROLES  # the routes' roles; can_edit() narrows office to district and city level


async def can_edit(actor: Actor) -> bool:
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.OFFICE or actor.conference_id is None:
        return False
    row = await Conference.select(Conference.level).where(Conference.id == actor.conference_id).first()
    return row is not None and row["level"] in ("district", "city")


async def _require_editor(actor: Actor | None) -> None:
    if actor is not None and not await can_edit(actor):
        raise Forbidden(_("节假日安排全区统一，只有系统管理员和区（市）级联席会议办公室可以修改。"))


# ---------------------------------------------------------------- reading


async def year_days(year: int) -> list[dict[str, Any]]:
    rows = await HolidayDay.select().where(HolidayDay.year == year).order_by(HolidayDay.day)
    for row in rows:
        row["kind_label"] = KIND_LABELS.get(row["kind"], row["kind"])
        row["weekday"] = "一二三四五六日"[row["day"].weekday()]
    return rows


async def days_between(start: dt.date, end: dt.date) -> dict[dt.date, dict[str, Any]]:
    """The holidays and make-up working days from start to end (one query), by day, labelled."""
    rows = await db.fetch("SELECT day, kind, name FROM holiday_day WHERE day >= {} AND day <= {} ORDER BY day", start, end)
    return {row["day"]: {**row, "kind_label": KIND_LABELS.get(row["kind"], row["kind"])} for row in rows}


async def years() -> list[int]:
    rows = await db.fetch("SELECT DISTINCT year FROM holiday_day ORDER BY year")
    return [int(r["year"]) for r in rows]


def groups(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive days of one kind and name as one line (春节 2月15日–2月23日, 9天)."""
    result: list[dict[str, Any]] = []
    for row in rows:
        last = result[-1] if result else None
        if (last and last["kind"] == row["kind"] and last["name"] == row["name"]
                and row["day"] - last["end"] == dt.timedelta(days=1)):
            last["end"] = row["day"]
            last["days"].append(row)
        else:
            result.append({"kind": row["kind"], "kind_label": row["kind_label"], "name": row["name"],
                           "start": row["day"], "end": row["day"], "days": [row]})
    return result


# ---------------------------------------------------------------- validation


def _check_year(form: FormReader, name: str, day: dt.date | None) -> None:
    if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR:
        form.fail(name, _("日期应在{a}年至{b}年之间。").format(a=MIN_YEAR, b=MAX_YEAR))


async def _taken(days: list[dt.date]) -> dict[dt.date, dict[str, Any]]:
    if not days:
        return {}
    rows = await HolidayDay.select().where(HolidayDay.day.is_in(days))
    return {r["day"]: r for r in rows}


def _taken_message(row: Mapping[str, Any]) -> str:
    return _("{day}已登记为{kind}（{name}），请先删除后再登记。").format(
        day=cn_date(row["day"]), kind=KIND_LABELS.get(row["kind"], row["kind"]), name=row["name"])


def holiday_range(data: Mapping[str, Any]) -> tuple[list[dt.date], str, FormReader]:
    form = FormReader(data)
    name, start, end = HOLIDAY_FORM.read(form).values()
    end = end or start
    _check_year(form, "start", start)
    _check_year(form, "end", end)
    days: list[dt.date] = []
    if start and end:
        if end < start:
            form.fail("end", _("结束日期不能早于开始日期。"))
        elif (end - start).days >= MAX_RANGE_DAYS:
            form.fail("end", _("一次最多登记{n}天。").format(n=MAX_RANGE_DAYS))
        else:
            days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return days, name, form


def makeup_day(data: Mapping[str, Any]) -> tuple[list[dt.date], str, FormReader]:
    form = FormReader(data)
    day, name = WORKDAY_FORM.read(form).values()
    _check_year(form, "day", day)
    if day is not None and day.weekday() < 5:
        form.fail("day", _("{day}是工作日，调休上班日应为周六或周日。").format(day=cn_date(day)))
    return ([day] if day else []), name, form


# ---------------------------------------------------------------- changes


async def add_days(actor: Actor | None, kind: str, data: Mapping[str, Any]) -> list[int]:
    """kind holiday: a range start..end named `name`; kind workday: one weekend `day` worked."""
    await _require_editor(actor)
    days, name, form = holiday_range(data) if kind == "holiday" else makeup_day(data)
    field = "start" if kind == "holiday" else "day"
    if days and not form.errors:
        taken = await _taken(days)
        if taken:
            form.fail(field, _taken_message(taken[min(taken)]))
    form.done()
    async with db.atomic(HolidayCalendar, 1):
        taken = await _taken(days)  # again, inside the transaction
        if taken:
            raise ValidationFailed({field: _taken_message(taken[min(taken)])})
        ids = [await _insert(actor, day, kind, name) for day in days]
        await _changed(actor, days)
    await workdays.refresh()
    return ids


async def _insert(actor: Actor | None, day: dt.date, kind: str, name: str) -> int:
    return await insert_audited(actor, HolidayDay, "holiday_day",
                                {"day": day, "kind": kind, "name": name, "year": day.year, "created_at": now()})


async def delete_day(actor: Actor | None, day_id: int) -> dict[str, Any]:
    await _require_editor(actor)
    async with db.atomic(HolidayCalendar, 1):
        row = await HolidayDay.select().where(HolidayDay.id == day_id).first()
        if row is None:
            raise NotFound(NOT_FOUND)
        await HolidayDay.delete().where(HolidayDay.id == day_id)
        await record(actor, "delete", "holiday_day", day_id,
                     before={"day": row["day"].isoformat(), "kind": row["kind"], "name": row["name"]})
        await _changed(actor, [row["day"]])
    await workdays.refresh()
    return row


async def import_year(actor: Actor | None, year: int, entries: list[tuple[dt.date, str, str]]) -> int:
    """Replaces the year's schedule with `entries` (day, kind, name) in one transaction."""
    await _require_editor(actor)
    errors = {}
    if not MIN_YEAR <= year <= MAX_YEAR:
        errors["year"] = _("年份应在{a}至{b}之间。").format(a=MIN_YEAR, b=MAX_YEAR)
    for day, kind, name in entries:
        if day.year != year:
            errors.setdefault("file", _("{day}不属于{year}年。").format(day=cn_date(day), year=year))
        if kind not in KIND_LABELS:
            errors.setdefault("file", _("{day}的类型应为 holiday（放假）或 workday（调休上班）。").format(day=cn_date(day)))
        if not name or len(name) > 20:
            errors.setdefault("file", _("{day}的节日名称应为 1 到 20 个字。").format(day=cn_date(day)))
    if len({d for d, _k, _n in entries}) != len(entries):
        errors.setdefault("file", _("文件中有重复的日期。"))
    if errors:
        raise ValidationFailed(errors)
    async with db.atomic(HolidayCalendar, 1):
        old = await HolidayDay.select().where(HolidayDay.year == year)
        for row in old:
            await HolidayDay.delete().where(HolidayDay.id == row["id"])
            await record(actor, "delete", "holiday_day", row["id"],
                         before={"day": row["day"].isoformat(), "kind": row["kind"], "name": row["name"]})
        for day, kind, name in sorted(entries):
            await _insert(actor, day, kind, name)
        await _changed(actor, [r["day"] for r in old] + [d for d, _k, _n in entries])
    await workdays.refresh()
    return len(entries)


async def seed(actor: Actor | None = None) -> int:
    """Adds the official days chinese-calendar knows that are not in the table yet."""
    await _require_editor(actor)
    async with db.atomic(HolidayCalendar, 1):
        present = {r["day"] for r in await HolidayDay.select(HolidayDay.day)}
        new = [(d, k, n) for d, k, n in official_days() if d not in present]
        for day, kind, name in new:
            await _insert(actor, day, kind, name)
        if new:
            await _changed(actor, [d for d, _k, _n in new])
    await workdays.refresh()
    return len(new)


def parse_csv(text: str) -> list[tuple[dt.date, str, str]]:
    """Rows `date,kind,name` (a header row and blank lines are skipped); kind holiday/workday or
    放假/上班/调休上班; a `start~end` or `start..end` date names a range. ValidationFailed on a bad row."""
    kinds = {"holiday": "holiday", "放假": "holiday", "休": "holiday", "workday": "workday", "上班": "workday",
             "调休上班": "workday", "班": "workday"}
    entries: list[tuple[dt.date, str, str]] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or (number == 1 and cells[0].lower() in ("date", "day", "日期")):
            continue
        if len(cells) < 3:
            raise ValidationFailed({"file": _("第{n}行应有三列：日期,类型,名称。").format(n=number)})
        raw, kind, name = cells[0], kinds.get(cells[1].lower(), ""), cells[2]
        first, _sep, last = raw.replace("..", "~").partition("~")
        try:
            start = dt.date.fromisoformat(first.strip())
            end = dt.date.fromisoformat(last.strip()) if last else start
        except ValueError:
            raise ValidationFailed({"file": _("第{n}行的日期“{d}”无效，请按 2027-01-01 的格式填写。").format(
                n=number, d=raw)}) from None
        if not kind:
            raise ValidationFailed({"file": _("第{n}行的类型应为 holiday（放假）或 workday（调休上班）。").format(n=number)})
        if end < start or (end - start).days >= MAX_RANGE_DAYS:
            raise ValidationFailed({"file": _("第{n}行的日期范围无效。").format(n=number)})
        entries += [(start + dt.timedelta(days=i), kind, name) for i in range((end - start).days + 1)]
    return entries


async def _changed(actor: Actor | None, days: list[dt.date]) -> None:
    """Inside the editing transaction: raise the counter, then recompute the deadlines affected."""
    from conference.tasks.resolutions import recompute_workday_deadlines

    stamp = now()
    updated = await HolidayCalendar.update({HolidayCalendar.version: HolidayCalendar.version + 1,
                                            HolidayCalendar.changed_at: stamp}).where(HolidayCalendar.id == 1).returning(
        HolidayCalendar.id)
    if not updated:
        await HolidayCalendar.insert(HolidayCalendar(id=1, version=1, changed_at=stamp))
    if days:
        await recompute_workday_deadlines(actor, await workdays.load(), min(days))
