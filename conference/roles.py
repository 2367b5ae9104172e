"""Who may do what: the account roles (the strings stored in app_user.role) with their Chinese
labels, and the named sets of roles the routes and the services check. A core module: it imports
no domain, so every domain and the web layer can name the same sets.

A route declares `opt={"roles": SOME_SET}`; a service checks `actor.role in SOME_SET`. Role is a
StrEnum, so a role read from the database ("office") is equal to Role.OFFICE and hashes alike."""

from __future__ import annotations

from enum import StrEnum

from conference.i18n import gettext as _


class Role(StrEnum):
    ADMIN = "admin"  # every conference
    OFFICE = "office"  # a conference's office, and the conferences below it
    CONVENOR = "convenor"  # the conferences the person convenes
    STREET = "street"  # one street's items, tasks and meetings
    UNIT = "unit"  # one member unit's tasks and invitations
    INTAKE = "intake"  # a machine account of another system feeding one street (conference.agenda.intake)


ROLE_LABELS: dict[str, str] = {
    Role.ADMIN: _("系统管理员"),
    Role.OFFICE: _("联席会议办公室"),
    Role.CONVENOR: _("召集人"),
    Role.STREET: _("街道"),
    Role.UNIT: _("成员单位"),
    Role.INTAKE: _("接入账号（12345 热线、网格化平台）"),
}

# Every person who signs in to the pages (the intake account only calls its API).
PEOPLE = (Role.ADMIN, Role.OFFICE, Role.CONVENOR, Role.STREET, Role.UNIT)
# Run a conference: registry, accounts, audit, mail, integrations, task changes, minutes' management.
OFFICE_ROLES = (Role.ADMIN, Role.OFFICE)
# Follow a conference's whole business: supervision, plenaries, minutes' drafts, invitation replies,
# meeting papers, conference records.
SUPERVISORS = (Role.ADMIN, Role.OFFICE, Role.CONVENOR)
# See agenda items and special-meeting requests (units deal with tasks, not items).
ITEM_READERS = (Role.ADMIN, Role.OFFICE, Role.CONVENOR, Role.STREET)
# Draft, edit and submit agenda items and their attachments.
ITEM_WRITERS = (Role.ADMIN, Role.OFFICE, Role.STREET)
# Put items in through a street's own channel: the street's pages and the intake API.
ITEM_SUBMITTERS = (Role.STREET, Role.INTAKE)
# See a meeting's invitations.
INVITATION_READERS = (Role.ADMIN, Role.OFFICE, Role.CONVENOR, Role.UNIT)
# Download a meeting's invitation as an .ics file.
INVITE_DOWNLOADERS = (Role.ADMIN, Role.OFFICE, Role.UNIT)
# Decide a street's request for a special meeting.
REQUEST_DECIDERS = (Role.ADMIN, Role.CONVENOR)
# Have an inbox of notifications (their own unit or street).
NOTIFICATION_READERS = (Role.UNIT, Role.STREET)
