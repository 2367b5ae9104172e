"""The documents of the registry JSON API (conference.registry.api, units_api, persons_api,
memberships_api), the roles they admit, and the helpers they share: a page of rows as documents and
the caller's conference scope as a condition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
from piccolo.columns import Column

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.errors import NotFound
from conference.registry import services
from conference.registry.forms import (
    APPOINTMENT_FORM,
    CONFERENCE_FORM,
    MEMBERSHIP_FORM,
    PERIOD_END_FORM,
    PERSON_FORM,
    STREET_FORM,
    UNIT_END_FORM,
    UNIT_FORM,
)
from conference.registry.tables import ConvenorAppointment, Membership
from conference.web.apikit import (
    convert,
)
from conference.web.listing import Page

S = TypeVar("S", bound=msgspec.Struct)


# ---------------------------------------------------------------- documents


class StreetOut(msgspec.Struct):
    id: int
    name: str
    district: str
    secretary_name: str
    phone: str
    ended_on: dt.date | None
    version: int
    created_at: dt.datetime


# The request bodies are derived from the forms' specs (conference.registry.forms); the handlers
# check their JSON types through the spec (`json_fields`), in Chinese.
StreetIn = STREET_FORM.struct("StreetIn")
StreetPatch = STREET_FORM.struct("StreetPatch", patch=True, extra=[("version", int)])


class ConferenceOut(msgspec.Struct):
    id: int
    name: str
    level: str  # city | district | street
    parent: int | None
    street: int | None
    office_email: str
    office_contact: str
    office_phone: str
    doc_prefix: str  # 发文机关代字, e.g. 兰联办: documents are numbered 兰联办〔2026〕6号
    version: int
    created_at: dt.datetime


ConferenceIn = CONFERENCE_FORM.struct("ConferenceIn")
ConferencePatch = CONFERENCE_FORM.struct("ConferencePatch", patch=True, extra=[("version", int)])


class UnitOut(msgspec.Struct):
    id: int
    name: str
    kind: str  # department | dispatched_agency | street | other
    parent_unit: int | None
    duties: str
    liaison_name: str
    liaison_phone: str
    liaison_email: str
    leader_name: str
    ended_on: dt.date | None
    version: int
    created_at: dt.datetime


UnitIn = UNIT_FORM.struct("UnitIn")
UnitPatch = UNIT_FORM.struct("UnitPatch", patch=True, extra=[("version", int)])
UnitEnd = UNIT_END_FORM.struct("UnitEnd")


class ConvenorOut(msgspec.Struct):
    id: int
    name: str
    title: str
    phone: str
    email: str
    version: int


ConvenorIn = PERSON_FORM.struct("ConvenorIn")
ConvenorPatch = PERSON_FORM.struct("ConvenorPatch", patch=True, extra=[("version", int)])


class MembershipOut(msgspec.Struct):
    id: int
    unit: int
    unit_name: str
    conference: int
    conference_name: str
    start_date: dt.date
    end_date: dt.date | None
    version: int


MembershipIn = MEMBERSHIP_FORM.struct("MembershipIn")


class AppointmentOut(msgspec.Struct):
    id: int
    person: int
    person_name: str
    conference: int
    conference_name: str
    title: str
    start_date: dt.date
    end_date: dt.date | None
    version: int


AppointmentIn = APPOINTMENT_FORM.struct("AppointmentIn")
PeriodEnd = PERIOD_END_FORM.struct("PeriodEnd")  # a membership's or an appointment's end


class Me(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: str  # admin | office | convenor | street | unit
    conference_id: int | None
    street_id: int | None
    unit_id: int | None
    person_id: int | None


# ---------------------------------------------------------------- helpers

def items_of(page: Page, out: type[S]) -> list[S]:
    return [convert(row, out) for row in page.rows]


async def scope_where(column: Column, actor: Actor) -> Any:
    """A condition limiting `column` (a conference id) to the actor's conferences; None for admin."""
    visible = await visible_conference_ids(actor)
    return None if visible is None else column.is_in(list(visible) or [0])


def all_of(*conditions: Any) -> Any:
    result = None
    for condition in conditions:
        if condition is not None:
            result = condition if result is None else (result & condition)
    return result


async def period_out(table: type[Membership] | type[ConvenorAppointment], columns: Sequence[Any], record_id: int,
                     out: type[S], actor: Actor) -> S:
    """A membership or a convenor appointment (`columns` of `table`) as `out`; NotFound when there is
    none or its conference is not one the actor may see."""
    row = await table.select(*columns).where(table.id == record_id).first()
    if row is None:
        raise NotFound(services.NOT_FOUND)
    await services.require_visible_conference(actor, row["conference"])
    return convert(row, out)


