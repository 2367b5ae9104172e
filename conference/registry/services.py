"""Registry business rules: validation, scope checks and audited changes for streets, conferences,
member units, memberships, convenors and their appointments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from piccolo.table import Table

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import subtree, visible_conference_ids
from conference.errors import Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.records import get_or_404, insert_audited, update_audited
from conference.registry.forms import (
    APPOINTMENT_FORM,
    CONFERENCE_FORM,
    MEMBERSHIP_FORM,
    PERIOD_END_FORM,
    STREET_FORM,
    UNIT_END_FORM,
    UNIT_FORM,
)
from conference.registry.forms import KIND_LABELS as KIND_LABELS
from conference.registry.forms import LEVEL_LABELS as LEVEL_LABELS
from conference.registry.forms import PERSON_FORM as PERSON_FORM
from conference.registry.tables import (
    Conference,
    ConvenorAppointment,
    Membership,
    MemberUnit,
    Person,
    Street,
)
from conference.roles import Role
from conference.timefmt import now, today

# The forms' fields, labels and limits are in conference.registry.forms (LEVEL_LABELS, KIND_LABELS and
# PERSON_FORM are re-exported here for their users).
# The level a conference's parent must have.
PARENT_LEVEL = {"district": "city", "street": "district"}
NOT_FOUND = _("没有找到该记录，或您无权查看。")
# Brackets in a 发文机关代字 would double those of the 文号 (兰联办〔2026〕6号) the system writes.
DOC_PREFIX_REFUSED = set("〔〕[]()（）【】{}<>《》")


# ---------------------------------------------------------------- scope helpers


def owner_of(actor: Actor) -> int | None:
    """The owner a new shared record (street, unit, convenor) gets: the registering office's
    conference; the admin's records have none."""
    return actor.conference_id if actor.role == Role.OFFICE else None


async def may_edit_shared(actor: Actor, owner_conference: int | None) -> bool:
    """Shared reference records (streets, units, convenors) are edited by the admin, or by the office
    of the conference that owns them (or an office above it). Linking a record to a conference
    (membership, appointment, street conference) gives no right to edit it; records of the admin
    (no owner) are the admin's alone."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.OFFICE or owner_conference is None:
        return False
    visible = await visible_conference_ids(actor)
    return visible is not None and owner_conference in visible


async def require_owner(actor: Actor, owner_conference: int | None) -> None:
    if not await may_edit_shared(actor, owner_conference):
        raise Forbidden(_("该记录属于其他联席会议，您无权修改。"))


async def require_own_street(actor: Actor, street_id: int) -> None:
    """Street conferences are set up for the streets of one's own district: those its office (or one
    below it) registered."""
    row = await Street.select(Street.owner_conference).where(Street.id == street_id).first()
    if row is None or not await may_edit_shared(actor, row["owner_conference"]):
        raise Forbidden(_("只能为本县区登记的街道设立街道级联席会议。"))


async def unit_owners_in_reach(conference_id: int) -> set[int]:
    """The owners whose units the membership picker offers a conference: the offices above it (a
    district's departments serve its streets) and those below it. Units of a neighbouring district
    (owned by its office) are not offered; units without an owner (the admin's) are offered to every
    conference, and the callers add them. Linking such a unit stays possible by id (the API): a
    membership gives no right to edit the unit (tests/test_security_registry.py)."""
    rows = await db.fetch("SELECT id, parent FROM conference")
    parent_of: dict[int, int | None] = {r["id"]: r["parent"] for r in rows}
    reach = subtree(parent_of, conference_id)
    ancestor = parent_of.get(conference_id)
    while ancestor is not None and ancestor not in reach:
        reach.add(ancestor)
        ancestor = parent_of.get(ancestor)
    return reach


async def require_visible_conference(actor: Actor, conference_id: int) -> dict[str, Any]:
    visible = await visible_conference_ids(actor)
    if visible is not None and conference_id not in visible:
        raise NotFound(NOT_FOUND)
    return await get_or_404(Conference, conference_id, NOT_FOUND)


async def _unique(form: FormReader, table: type[Table], field: str, value: str, exclude_id: int | None, message: str) -> None:
    if not value:
        return
    column = table._meta.get_column_by_name(field)
    query = table.exists().where(column == value)
    if exclude_id is not None:
        query = table.exists().where((column == value) & (table._meta.primary_key != exclude_id))
    if await query:
        form.fail(field, message)


async def _existing(form: FormReader, table: type[Table], field: str, ref: int | None, label: str) -> None:
    if ref is not None and not await table.exists().where(table._meta.primary_key == ref):
        form.fail(field, _("所选{label}不存在。").format(label=label))


# ---------------------------------------------------------------- streets


async def _street_values(data: Mapping[str, Any], exclude_id: int | None) -> tuple[dict[str, Any], int | None]:
    form = FormReader(data)
    values = STREET_FORM.read(form)
    await _unique(form, Street, "name", values["name"], exclude_id, _("已有同名街道。"))
    version = form.version()
    form.done()
    return values, version


async def create_street(actor: Actor, data: Mapping[str, Any]) -> int:
    values, _v = await _street_values(data, None)
    async with db.atomic():
        return await insert_audited(actor, Street, "street",
                                    {**values, "owner_conference": owner_of(actor), "created_at": now()})


async def update_street(actor: Actor, street_id: int, data: Mapping[str, Any]) -> None:
    values, version = await _street_values(data, street_id)
    async with db.atomic():
        current = await get_or_404(Street, street_id, NOT_FOUND)
        await require_owner(actor, current["owner_conference"])
        await update_audited(actor, Street, "street", current, values, expected_version=version)


# ---------------------------------------------------------------- conferences


async def _conference_values(actor: Actor, data: Mapping[str, Any], conference_id: int | None) -> tuple[dict[str, Any], int | None]:
    form = FormReader(data)
    values = CONFERENCE_FORM.read(form)
    if any(c in DOC_PREFIX_REFUSED or c.isspace() or c.isdigit() for c in values["doc_prefix"]):
        form.fail("doc_prefix", _("发文机关代字只填代字（如“兰联办”），不含空格、数字和括号：年份和序号由系统生成。"))
    await _unique(form, Conference, "name", values["name"], conference_id, _("已有同名联席会议。"))
    level, parent = values["level"], values["parent"]
    visible = await visible_conference_ids(actor)
    # An office's own conference hangs under one the office cannot see; keeping that parent is fine.
    current = await Conference.select(Conference.parent).where(Conference.id == conference_id).first() if conference_id else None
    if parent is not None:
        parent_row = await Conference.select(Conference.id, Conference.level).where(Conference.id == parent).first()
        unseen = visible is not None and parent not in visible and not (current and parent == current["parent"])
        if parent_row is None or unseen:
            form.fail("parent", _("所选上级联席会议不存在。"))
        elif level and PARENT_LEVEL.get(level) != parent_row["level"]:
            form.fail("parent", _("上级联席会议的层级不对：街道级的上级应为县区级，县区级的上级应为市级。"))
        elif conference_id is not None:
            rows = await Conference.select(Conference.id, Conference.parent)
            if parent in subtree({r["id"]: r["parent"] for r in rows}, conference_id):
                form.fail("parent", _("不能把联席会议设为自己下级的下级。"))
    elif level and level != "city":
        form.fail("parent", _("请选择上级联席会议。"))
    elif visible is not None:
        form.fail("parent", _("只有系统管理员可以设立市级联席会议。"))
    if level == "street":
        if values["street"] is None:
            form.fail("street", _("街道级联席会议须选择所属街道。"))
        await _existing(form, Street, "street", values["street"], _("街道"))
    else:
        values["street"] = None
    version = form.version()
    form.done()
    return values, version


async def create_conference(actor: Actor, data: Mapping[str, Any]) -> int:
    values, _v = await _conference_values(actor, data, None)
    if values["street"] is not None:
        await require_own_street(actor, values["street"])
    async with db.atomic():
        new_id = await insert_audited(actor, Conference, "conference", {**values, "created_at": now()})
        return new_id


async def update_conference(actor: Actor, conference_id: int, data: Mapping[str, Any]) -> None:
    current = await require_visible_conference(actor, conference_id)
    values, version = await _conference_values(actor, data, conference_id)
    if actor.role != Role.ADMIN and conference_id == actor.conference_id and values["parent"] != current["parent"]:
        raise ValidationFailed({"parent": _("不能更改本级联席会议的上级。")})
    if values["street"] is not None and values["street"] != current["street"]:
        await require_own_street(actor, values["street"])
    async with db.atomic():
        current = await get_or_404(Conference, conference_id, NOT_FOUND)
        await update_audited(actor, Conference, "conference", current, values, expected_version=version, conference_id=conference_id)


# ---------------------------------------------------------------- member units

UNIT_FIELDS = tuple(UNIT_FORM.labels("page"))  # the import's columns, in the form's order


async def unit_values(data: Mapping[str, Any], unit_id: int | None) -> tuple[dict[str, Any], int | None, FormReader]:
    """Validated fields of a member unit; also used row by row by the import (hence the reader)."""
    form = FormReader(data)
    values = UNIT_FORM.read(form)
    await _unique(form, MemberUnit, "name", values["name"], unit_id, _("已有同名成员单位。"))
    await _existing(form, MemberUnit, "parent_unit", values["parent_unit"], _("上级单位"))
    if unit_id is not None and values["parent_unit"] == unit_id:
        form.fail("parent_unit", _("上级单位不能是本单位。"))
    return values, form.version(), form


async def create_unit(actor: Actor, data: Mapping[str, Any]) -> int:
    values, _v, form = await unit_values(data, None)
    form.done()
    async with db.atomic():
        return await insert_audited(actor, MemberUnit, "member_unit",
                                    {**values, "owner_conference": owner_of(actor), "created_at": now()})


async def update_unit(actor: Actor, unit_id: int, data: Mapping[str, Any]) -> None:
    values, version, form = await unit_values(data, unit_id)
    form.done()
    async with db.atomic():
        current = await get_or_404(MemberUnit, unit_id, NOT_FOUND)
        await require_owner(actor, current["owner_conference"])
        await update_audited(actor, MemberUnit, "member_unit", current, values, expected_version=version)


async def end_unit(actor: Actor, unit_id: int, data: Mapping[str, Any]) -> None:
    """撤销: the unit stays in history (past meetings keep it); its open memberships end that day."""
    form = FormReader(data)
    ended_on = UNIT_END_FORM.read(form)["ended_on"]
    version = form.version()
    form.done()
    assert ended_on is not None
    async with db.atomic():
        current = await get_or_404(MemberUnit, unit_id, NOT_FOUND)
        await require_owner(actor, current["owner_conference"])
        if current["ended_on"] is not None:
            raise ValidationFailed({"ended_on": _("该单位已撤销。")})
        open_rows = await Membership.select().where((Membership.unit == unit_id) & Membership.end_date.is_null())
        visible = await visible_conference_ids(actor)
        if visible is not None and any(row["conference"] not in visible for row in open_rows):
            # Ending the unit ends all its memberships: not for an office that sees only some of them.
            raise Forbidden(_("该单位还是其他联席会议的成员，请由上级联席会议办公室撤销。"))
        await update_audited(actor, MemberUnit, "member_unit", current, {"ended_on": ended_on}, expected_version=version, action="end")
        for row in open_rows:
            await update_audited(actor, Membership, "membership", row, {"end_date": max(ended_on, row["start_date"])},
                                 expected_version=None, action="end", conference_id=row["conference"])


# ---------------------------------------------------------------- persons (convenors)


async def _person_values(data: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
    form = FormReader(data)
    values = PERSON_FORM.read(form)
    version = form.version()
    form.done()
    return values, version


async def create_person(actor: Actor, data: Mapping[str, Any]) -> int:
    values, _v = await _person_values(data)
    async with db.atomic():
        return await insert_audited(actor, Person, "person", {**values, "owner_conference": owner_of(actor)})


async def update_person(actor: Actor, person_id: int, data: Mapping[str, Any]) -> None:
    values, version = await _person_values(data)
    async with db.atomic():
        current = await get_or_404(Person, person_id, NOT_FOUND)
        await require_owner(actor, current["owner_conference"])
        await update_audited(actor, Person, "person", current, values, expected_version=version)


# ---------------------------------------------------------------- memberships and appointments


def _overlaps(rows: list[dict[str, Any]], start: dt.date, end: dt.date | None) -> bool:
    far = dt.date.max
    return any(r["start_date"] <= (end or far) and start <= (r["end_date"] or far) for r in rows)


async def add_membership(actor: Actor, conference_id: int, data: Mapping[str, Any]) -> int:
    await require_visible_conference(actor, conference_id)
    form = FormReader(data)
    values = MEMBERSHIP_FORM.read(form)
    unit_id, start, end = values["unit"], values["start_date"], values["end_date"]
    form.date_range(start, end, "end_date")
    await _existing(form, MemberUnit, "unit", unit_id, _("成员单位"))
    if unit_id and start and not form.errors:
        existing = await Membership.select().where((Membership.unit == unit_id) & (Membership.conference == conference_id))
        if _overlaps(existing, start, end):
            form.fail("unit", _("该单位在这段时间已是本联席会议的成员。"))
    form.done()
    async with db.atomic():
        return await insert_audited(actor, Membership, "membership",
                                    {"unit": unit_id, "conference": conference_id, "start_date": start, "end_date": end},
                                    conference_id=conference_id)


async def add_appointment(actor: Actor, conference_id: int, data: Mapping[str, Any]) -> int:
    await require_visible_conference(actor, conference_id)
    form = FormReader(data)
    values = APPOINTMENT_FORM.read(form)
    person_id, title, start, end = values["person"], values["title"], values["start_date"], values["end_date"]
    form.date_range(start, end, "end_date")
    await _existing(form, Person, "person", person_id, _("召集人"))
    if start and not form.errors:
        existing = await ConvenorAppointment.select().where(ConvenorAppointment.conference == conference_id)
        if _overlaps(existing, start, end):
            form.fail("start_date", _("这段时间本联席会议已有召集人，请先结束现任召集人的任期。"))
    form.done()
    async with db.atomic():
        return await insert_audited(actor, ConvenorAppointment, "convenor_appointment",
                                    {"person": person_id, "conference": conference_id, "title": title,
                                     "start_date": start, "end_date": end},
                                    conference_id=conference_id)


async def end_period(actor: Actor, table: type[Membership] | type[ConvenorAppointment], entity: str,
                     record_id: int, data: Mapping[str, Any]) -> int:
    """Ends a membership or an appointment; returns its conference id."""
    form = FormReader(data)
    end = PERIOD_END_FORM.read(form)["end_date"]
    version = form.version()
    form.done()
    async with db.atomic():
        current = await get_or_404(table, record_id, NOT_FOUND)
        await require_visible_conference(actor, current["conference"])
        if current["end_date"] is not None and current["end_date"] <= today():
            raise ValidationFailed({"end_date": _("该任期已经结束。")})
        if end and end < current["start_date"]:
            raise ValidationFailed({"end_date": _("结束日期不能早于开始日期。")})
        await update_audited(actor, table, entity, current, {"end_date": end}, expected_version=version,
                             action="end", conference_id=current["conference"])
        return int(current["conference"])
