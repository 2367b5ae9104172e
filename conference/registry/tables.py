"""The registry: streets, conferences, member units, memberships, convenors and their appointments.

Streets, member units and convenors are shared: several conferences may link them, but only their
owner edits them. `owner_conference` is the conference whose office registered the record (that
office, or one above it, edits it); NULL means the admin's. Linking a record to a conference
(membership, appointment, street conference) gives no right to edit it.

Streets, conferences, units and convenors carry `sort_key`, the pinyin of their name, written
with the name (conference.records, conference.collation): lists and pickers order by it.

Editable records carry `version` for optimistic locking: an update names the version it read
and fails with a conflict when someone else saved first.
"""

from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.collation import SORT_KEY_LENGTH

LEVELS = ("city", "district", "street")
UNIT_KINDS = ("department", "dispatched_agency", "street", "other")


class Street(Table, tablename="street"):
    """A subdistrict (街道). Its Party working committee submits agenda items."""

    id = Serial(primary_key=True)
    name = Varchar(length=60, unique=True)
    sort_key = Varchar(length=SORT_KEY_LENGTH, default="", index=True)  # pinyin of name (conference.collation)
    district = Varchar(length=60)
    secretary_name = Varchar(length=40, default="")
    phone = Varchar(length=40, default="")
    ended_on = Date(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()
    owner_conference = Integer(null=True, default=None, index=True)  # NULL: the admin's


class Conference(Table, tablename="conference"):
    """A joint conference at city, district or street level; `parent` is the level above."""

    id = Serial(primary_key=True)
    name = Varchar(length=100, unique=True)
    sort_key = Varchar(length=SORT_KEY_LENGTH, default="", index=True)  # pinyin of name (conference.collation)
    level = Varchar(length=16)
    parent: ForeignKey = ForeignKey("self", null=True, index=True, on_delete=OnDelete.restrict)
    street = ForeignKey(Street, null=True, index=True, on_delete=OnDelete.restrict)
    office_email = Varchar(length=120, default="")
    # The office's contact person and telephone, printed on the 会议通知 (联系人、联系电话).
    office_contact = Varchar(length=40, default="")
    office_phone = Varchar(length=40, default="")
    # 发文机关代字 of the office, e.g. 兰联办: the 文号 of its documents is 兰联办〔2026〕6号
    # (conference.documents.numbers); empty: its documents carry no 文号.
    doc_prefix = Varchar(length=20, default="")
    version = Integer(default=1)
    created_at = Timestamptz()


class MemberUnit(Table, tablename="member_unit"):
    """A department or dispatched agency (成员单位); invitations go to its liaison."""

    id = Serial(primary_key=True)
    name = Varchar(length=100, unique=True)
    sort_key = Varchar(length=SORT_KEY_LENGTH, default="", index=True)  # pinyin of name (conference.collation)
    kind = Varchar(length=24)
    parent_unit: ForeignKey = ForeignKey("self", null=True, index=True, on_delete=OnDelete.set_null)
    duties = Text(default="")
    liaison_name = Varchar(length=40, default="")
    liaison_phone = Varchar(length=40, default="")
    liaison_email = Varchar(length=120, default="")
    leader_name = Varchar(length=40, default="")
    ended_on = Date(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()
    owner_conference = Integer(null=True, default=None, index=True)  # NULL: the admin's


class Membership(Table, tablename="membership"):
    """Unit x conference over a period; past meetings use the membership valid on their date."""

    id = Serial(primary_key=True)
    unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.restrict)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    start_date = Date()
    end_date = Date(null=True, default=None)
    version = Integer(default=1)


class Person(Table, tablename="person"):
    """A convenor (召集人): usually a county-level leader assigned to a street."""

    id = Serial(primary_key=True)
    name = Varchar(length=40)
    sort_key = Varchar(length=SORT_KEY_LENGTH, default="", index=True)  # pinyin of name (conference.collation)
    title = Varchar(length=60, default="")
    phone = Varchar(length=40, default="")
    email = Varchar(length=120, default="")
    version = Integer(default=1)
    owner_conference = Integer(null=True, default=None, index=True)  # NULL: the admin's


class ConvenorAppointment(Table, tablename="convenor_appointment"):
    id = Serial(primary_key=True)
    person = ForeignKey(Person, index=True, on_delete=OnDelete.restrict)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    title = Varchar(length=60, default="")
    start_date = Date()
    end_date = Date(null=True, default=None)
    version = Integer(default=1)
