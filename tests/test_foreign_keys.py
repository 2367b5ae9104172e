"""Foreign keys say what must survive a manual DELETE (migration 2026-12-03T09:50): records are
protected (RESTRICT), optional links are cleared (SET NULL), parts go with their whole (CASCADE).
Runs on the session's database (SQLite, or PostgreSQL with TEST_DATABASE=postgres); every refused
DELETE changes nothing, and the rows the other tests make are their own."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from piccolo.columns import OnDelete
from piccolo.table import Table

from conference import db
from conference.accounts.passwords import hash_password
from conference.accounts.tables import Session, User
from conference.agenda.tables import AgendaItem, AgendaSlot
from conference.audit.tables import AuditEvent
from conference.calendar.tables import CalendarFeed
from conference.collation import sort_key
from conference.meetings.tables import Invitation, Meeting
from conference.minutes.tables import Minutes, MinutesPublication, MinutesVersion
from conference.notifications.tables import Notification
from conference.piccolo_app import APP_CONFIG
from conference.registry.tables import MemberUnit
from conference.tasks.tables import Resolution, Task, TaskReport
from tests import dbsetup
from tests.factories import unique

REFUSED = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)

PG_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


async def database_on_delete() -> dict[tuple[str, str], str]:
    """(table, column) -> ON DELETE action of every single-column foreign key in the database."""
    engine = db.engine()
    if dbsetup.backend() == "postgres":
        rows = await engine.run_ddl(
            """SELECT t.relname AS tbl, a.attname AS col, c.confdeltype::text AS action
               FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
               WHERE c.contype = 'f' AND n.nspname = current_schema()""")
        return {(r["tbl"], r["col"]): PG_ACTIONS[r["action"]] for r in rows}
    found: dict[tuple[str, str], str] = {}
    for table in APP_CONFIG.table_classes:
        name = table._meta.tablename
        for r in await engine.run_ddl(f'PRAGMA foreign_key_list("{name}")'):
            found[(name, r["from"])] = r["on_delete"].upper()
    return found


def declared_on_delete() -> dict[tuple[str, str], str]:
    return {(table._meta.tablename, fk._meta.db_column_name): fk._foreign_key_meta.on_delete.value
            for table in APP_CONFIG.table_classes for fk in table._meta.foreign_key_columns}


def test_every_foreign_key_declares_on_delete() -> None:
    """Written out in the source, not left to Piccolo's default (CASCADE)."""
    sources = sorted((Path(__file__).parent.parent / "conference").glob("*/tables.py"))
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for call in re.findall(r"ForeignKey\([^)]*\)", text):
            assert "on_delete=OnDelete." in call, f"{path}: {call}"


async def test_the_database_matches_the_declarations(database_url: str) -> None:
    declared = declared_on_delete()
    assert declared, "no foreign keys found"
    actual = await database_on_delete()
    assert {key: actual.get(key) for key in declared} == declared


def test_the_rules_that_matter() -> None:
    declared = declared_on_delete()
    for key in [("audit_event", "actor"), ("minutes_publication", "minutes"), ("minutes_version", "minutes"),
                ("minutes", "meeting"), ("agenda_item", "meeting"), ("agenda_slot", "meeting"),
                ("resolution", "meeting"), ("invitation", "meeting"), ("task", "resolution"),
                ("task_report", "task")]:
        assert declared[key] == OnDelete.restrict.value, key
    for key in [("app_user", "unit"), ("notification", "unit"), ("notification", "street"),
                ("special_meeting_request", "meeting"), ("member_unit", "parent_unit")]:
        assert declared[key] == OnDelete.set_null.value, key
    for key in [("web_session", "account"), ("calendar_feed", "unit"), ("attachment", "item")]:
        assert declared[key] == OnDelete.cascade.value, key


async def refused(table: type[Table], row_id: int) -> None:
    """A DELETE of the row fails on a foreign key and the row is still there."""
    pk = table._meta.primary_key
    with pytest.raises(REFUSED):
        await table.delete().where(pk == row_id)
    assert await table.exists().where(pk == row_id)


async def one_id(query: Any) -> int:
    row = await query.first()
    assert row is not None, "the demo data should have such a row"
    return int(row["id"])


async def test_a_user_with_audit_events_cannot_be_deleted(database_url: str) -> None:
    user_id = await one_id(User.select(User.id).where(User.username == "office"))
    events = await AuditEvent.count().where(AuditEvent.actor == user_id)
    assert events > 0
    await refused(User, user_id)
    assert await AuditEvent.count().where(AuditEvent.actor == user_id) == events


async def test_published_minutes_cannot_be_deleted(database_url: str) -> None:
    minutes_id = await one_id(Minutes.select(Minutes.id).where(Minutes.status == "published"))
    publications = await MinutesPublication.count().where(MinutesPublication.minutes == minutes_id)
    versions = await MinutesVersion.count().where(MinutesVersion.minutes == minutes_id)
    assert publications > 0 and versions > 0
    await refused(Minutes, minutes_id)
    assert await MinutesPublication.count().where(MinutesPublication.minutes == minutes_id) == publications
    assert await MinutesVersion.count().where(MinutesVersion.minutes == minutes_id) == versions
    # Nor the meeting the minutes belong to.
    meeting_id = await one_id(Minutes.select(Minutes.meeting.as_alias("id")).where(Minutes.id == minutes_id))
    await refused(Meeting, meeting_id)


async def test_a_meeting_with_items_or_resolutions_cannot_be_deleted(database_url: str) -> None:
    with_items = await one_id(Meeting.select(Meeting.id).where(
        Meeting.id.is_in(AgendaItem.select(AgendaItem.meeting).where(AgendaItem.meeting.is_not_null()))))
    await refused(Meeting, with_items)
    with_resolutions = await one_id(Meeting.select(Meeting.id).where(
        Meeting.id.is_in(Resolution.select(Resolution.meeting))))
    slots = await AgendaSlot.count().where(AgendaSlot.meeting == with_resolutions)
    await refused(Meeting, with_resolutions)
    assert await AgendaSlot.count().where(AgendaSlot.meeting == with_resolutions) == slots
    # A meeting with invitations only (replies, sign-in) is protected too.
    with_invitations = await one_id(Meeting.select(Meeting.id).where(
        Meeting.id.is_in(Invitation.select(Invitation.meeting))
        & Meeting.id.not_in(AgendaItem.select(AgendaItem.meeting).where(AgendaItem.meeting.is_not_null()))))
    await refused(Meeting, with_invitations)


async def test_tasks_and_resolutions_with_records_cannot_be_deleted(database_url: str) -> None:
    task_id = await one_id(Task.select(Task.id).where(Task.id.is_in(TaskReport.select(TaskReport.task))))
    await refused(Task, task_id)
    resolution_id = await one_id(Task.select(Task.resolution.as_alias("id")).where(Task.id == task_id))
    await refused(Resolution, resolution_id)
    unit_id = await one_id(Task.select(Task.unit.as_alias("id")).where(Task.id == task_id))
    await refused(MemberUnit, unit_id)


async def test_optional_links_are_cleared_and_parts_go_with_their_whole(database_url: str) -> None:
    """A unit referenced only by optional links (an account's scope, an outbox message) and by its
    own feed: deleting it clears the links, drops the feed and keeps the account and the message.
    Deleting the account then takes its log-in session with it."""
    name = unique("测试单位")
    unit = MemberUnit(name=name, sort_key=sort_key(name), kind="department")
    await unit.save()
    account = User(username=unique("fk"), password_hash=await hash_password(unique("fk-pass")), role="unit", unit=unit.id)
    await account.save()
    message = Notification(event="test", unit=unit.id, email="fk@example.org", subject="s", body="b")
    await message.save()
    feed = CalendarFeed(unit=unit.id, token_hash=unique("tok"))
    await feed.save()
    session = Session(key_hash=unique("fk-session"), account=account.id)
    await session.save()

    await MemberUnit.delete().where(MemberUnit.id == unit.id)

    user_row = await User.select(User.unit).where(User.id == account.id).first()
    assert user_row == {"unit": None}
    message_row = await Notification.select(Notification.unit, Notification.email).where(
        Notification.id == message.id).first()
    assert message_row == {"unit": None, "email": "fk@example.org"}
    assert not await CalendarFeed.exists().where(CalendarFeed.id == feed.id)

    await User.delete().where(User.id == account.id)  # no audit events: it may go
    assert not await Session.exists().where(Session.id == session.id)
    await Notification.delete().where(Notification.id == message.id)


async def test_foreign_keys_are_enforced_on_the_connections_in_use(database_url: str) -> None:
    """RESTRICT means nothing on SQLite without PRAGMA foreign_keys, which is per connection:
    Piccolo's SQLite engine sets it on every connection it opens, in and outside transactions."""
    engine = db.engine()
    if dbsetup.backend() != "sqlite":
        pytest.skip("PostgreSQL always enforces foreign keys")
    assert (await engine.run_ddl("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1
    async with db.atomic():
        assert (await engine.run_ddl("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1
    assert (await db.fetch("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1  # the fast read path's connection
