"""Presentation of registry records: form fields, list columns and the detail context of each
entity, as plain values for templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conference.i18n import gettext as _
from conference.registry.forms import (
    APPOINTMENT_FORM,
    CONFERENCE_FORM,
    KIND_LABELS,
    LEVEL_LABELS,
    MEMBERSHIP_FORM,
    PERSON_FORM,
    STREET_FORM,
    UNIT_FORM,
)
from conference.registry.services import unit_owners_in_reach
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person, Street
from conference.timefmt import today
from conference.web.fields import Field


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sortable: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # code -> display text
    kind: str = "text"  # text | date | link


def _options(rows: list[dict[str, Any]], blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [(str(r["id"]), r["name"]) for r in rows]


async def street_fields() -> list[Field]:
    return STREET_FORM.page_fields()


async def unit_fields() -> list[Field]:
    parents = await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(MemberUnit.kind == "department").order_by(MemberUnit.sort_key, MemberUnit.name)
    return UNIT_FORM.page_fields({"parent_unit": _options(parents, _("（无）"))})


async def person_fields() -> list[Field]:
    return PERSON_FORM.page_fields()


async def conference_fields() -> list[Field]:
    parents = await Conference.select(Conference.id, Conference.name).where(Conference.level != "street").order_by(Conference.sort_key, Conference.name)
    streets = await Street.select(Street.id, Street.name).order_by(Street.sort_key, Street.name)
    return CONFERENCE_FORM.page_fields({"parent": _options(parents, _("（无，市级）")),
                                        "street": _options(streets, _("（非街道级）"))})


STREET_COLUMNS = [Column("name", _("街道名称"), True, kind="link"), Column("district", _("所属县区"), True),
                  Column("secretary_name", _("党工委书记")), Column("phone", _("联系电话"))]
UNIT_COLUMNS = [Column("name", _("单位名称"), True, kind="link"), Column("kind", _("类别"), True, KIND_LABELS),
                Column("liaison_name", _("联络员")), Column("liaison_phone", _("联络员电话")),
                Column("ended_on", _("撤销日期"), True, kind="date")]
PERSON_COLUMNS = [Column("name", _("姓名"), True, kind="link"), Column("title", _("职务"), True),
                  Column("phone", _("联系电话"))]
CONFERENCE_COLUMNS = [Column("name", _("联席会议名称"), True, kind="link"), Column("level", _("层级"), True, LEVEL_LABELS),
                      Column("office_email", _("办公室邮箱"))]


async def unit_memberships(unit_id: int) -> list[dict[str, Any]]:
    return await Membership.select(
        Membership.id, Membership.start_date, Membership.end_date, Membership.conference.name.as_alias("conference_name"),
        Membership.conference.id.as_alias("conference_id"),
    ).where(Membership.unit == unit_id).order_by(Membership.start_date, ascending=False)


async def membership_candidates(conference_id: int) -> list[dict[str, Any]]:
    """The units the membership picker offers: not ended, not a member today, and registered within
    the conference's reach (see services.unit_owners_in_reach), so a street's office is never offered
    the neighbouring district's units nor its own members twice."""
    day = today()
    members = await Membership.select(Membership.unit).where(
        (Membership.conference == conference_id) & (Membership.start_date <= day)
        & (Membership.end_date.is_null() | (Membership.end_date >= day)))
    reach = await unit_owners_in_reach(conference_id)
    condition = MemberUnit.ended_on.is_null() & (MemberUnit.owner_conference.is_null() | MemberUnit.owner_conference.is_in(list(reach)))
    if members:
        condition &= MemberUnit.id.not_in([m["unit"] for m in members])
    return await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(condition).order_by(MemberUnit.sort_key, MemberUnit.name)


async def conference_detail(conference_id: int) -> dict[str, Any]:
    memberships = await Membership.select(
        Membership.id, Membership.start_date, Membership.end_date, Membership.version,
        Membership.unit.name.as_alias("unit_name"), Membership.unit.id.as_alias("unit_id"),
        Membership.unit.kind.as_alias("unit_kind"),
    ).where(Membership.conference == conference_id).order_by(Membership.unit.sort_key, Membership.unit.name)
    memberships.sort(key=lambda m: m["end_date"] is not None)  # current members first
    appointments = await ConvenorAppointment.select(
        ConvenorAppointment.id, ConvenorAppointment.title, ConvenorAppointment.start_date, ConvenorAppointment.end_date,
        ConvenorAppointment.version, ConvenorAppointment.person.name.as_alias("person_name"),
        ConvenorAppointment.person.id.as_alias("person_id"),
    ).where(ConvenorAppointment.conference == conference_id).order_by(ConvenorAppointment.start_date, ascending=False)
    children = await Conference.select(Conference.id, Conference.name, Conference.level).where(
        Conference.parent == conference_id).order_by(Conference.sort_key, Conference.name)
    units = await membership_candidates(conference_id)
    persons = await Person.select(Person.id, Person.name).order_by(Person.sort_key, Person.name)
    return {
        "memberships": memberships,
        "appointments": appointments,
        "children": children,
        "unit_options": _options(units, _("请选择")),
        "person_options": _options(persons, _("请选择")),
        # The conference page's two forms (templates/registry/conferences_detail.html), by field name.
        "membership_fields": {f.name: f for f in MEMBERSHIP_FORM.page_fields()},
        "appointment_fields": {f.name: f for f in APPOINTMENT_FORM.page_fields()},
    }
