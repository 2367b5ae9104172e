"""Every foreign key says what must survive a DELETE of the row it points at.

Until now every foreign key was ON DELETE CASCADE (Piccolo's default): one manual
`DELETE FROM app_user` would have wiped that user's audit trail, one `DELETE FROM minutes` the
published PDFs. Three rules, chosen per key in RULES below, each with its reason:

- RESTRICT: the child is an official record (audit event, meeting and its agenda, invitation and
  its reply, resolution, task and its reports, minutes, versions, comments, publications,
  memberships and appointments) or a record's link to who made it. The parent cannot be deleted
  while such a record points at it; accounts are deactivated, not deleted; a registry entry is
  ended (`ended_on` / `end_date`), not deleted.
- SET NULL: an optional link whose loss leaves the child complete and truthful (an account's
  scope, which then fails closed and shows nothing; the outbox row's recipient, whose address is
  copied; a unit's parent unit; the meeting an approved special request led to).
- CASCADE: the child is a part of its parent and means nothing alone (a log-in session, a
  calendar feed token, the units requested on an item, a file attached to an item or to a
  report, the units named on a resolution).

PostgreSQL: each constraint is dropped and added again under the same name, with the definition
read from pg_constraint (pg_get_constraintdef) and only its ON DELETE clause changed.

SQLite cannot alter a constraint: each affected table is rebuilt by the procedure of
https://www.sqlite.org/lang_altertable.html#otheralter (foreign keys off, new table from the stored
CREATE TABLE with the ON DELETE clauses rewritten, copy, drop, rename, indexes and triggers
recreated from their stored SQL, foreign_key_check, commit). The stored SQL is read when the
migration runs, so columns and indexes added by any earlier migration are kept. PRAGMA
foreign_keys only takes effect outside a transaction, so on SQLite the migration runs on a
connection of its own instead of inside Piccolo's transaction. Piccolo's SQLite engine turns
foreign keys on for every connection it opens (PRAGMA foreign_keys = 1), so RESTRICT and SET NULL
are enforced there as on PostgreSQL.

backwards() puts every key listed here back to CASCADE, the same way.

The alter_column entries only tell Piccolo's schema snapshot about the new on_delete of each
ForeignKey (so that `piccolo migrations new --auto` finds nothing to change); the raw steps do the
work, and the manager skips Piccolo's own alter step, which cannot change a constraint on SQLite.
"""

from __future__ import annotations

import re
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-03T09:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "explicit ON DELETE for every foreign key (RESTRICT / SET NULL / CASCADE)"

RESTRICT, SET_NULL, CASCADE = OnDelete.restrict, OnDelete.set_null, OnDelete.cascade

# (table class, table, column) -> ON DELETE, with the reason.
RULES: dict[tuple[str, str, str], OnDelete] = {
    # registry
    # Moving a conference out from under its parent changes who sees it: re-parent first.
    ("Conference", "conference", "parent"): RESTRICT,
    # A street conference belongs to its street; NULL would make it look like a non-street one.
    ("Conference", "conference", "street"): RESTRICT,
    # The nesting of units is descriptive only; the unit stands on its own without it.
    ("MemberUnit", "member_unit", "parent_unit"): SET_NULL,
    # Memberships over time decide who was invited to past meetings: a registry record.
    ("Membership", "membership", "unit"): RESTRICT,
    ("Membership", "membership", "conference"): RESTRICT,
    # Who convened which conference when: a registry record.
    ("ConvenorAppointment", "convenor_appointment", "person"): RESTRICT,
    ("ConvenorAppointment", "convenor_appointment", "conference"): RESTRICT,
    # accounts
    # An account's scope: without it the account sees nothing (the scope check fails closed); the
    # account, its trail and its records stay.
    ("User", "app_user", "conference"): SET_NULL,
    ("User", "app_user", "street"): SET_NULL,
    ("User", "app_user", "unit"): SET_NULL,
    ("User", "app_user", "person"): SET_NULL,
    # A log-in session is part of its account and means nothing without it.
    ("Session", "web_session", "account"): CASCADE,
    # audit
    # The audit trail survives everything: an account that acted cannot be deleted (deactivate it).
    ("AuditEvent", "audit_event", "actor"): RESTRICT,
    # calendar
    # A feed token is part of its unit: no unit, no calendar to subscribe to.
    ("CalendarFeed", "calendar_feed", "unit"): CASCADE,
    # notifications
    # The outbox row keeps its address, subject and body; the link only files it under the unit
    # or street, so losing the link loses nothing of what was sent.
    ("Notification", "notification", "unit"): SET_NULL,
    ("Notification", "notification", "street"): SET_NULL,
    # meetings
    ("Meeting", "meeting", "conference"): RESTRICT,  # a meeting is an official record
    # Who presided is a fact of the meeting (and of its minutes).
    ("Meeting", "meeting", "presiding"): RESTRICT,
    # Invitations carry the units' replies and sign-in: a meeting with invitations cannot be
    # deleted, nor a unit that was invited (the app removes single invitations itself, audited).
    ("Invitation", "invitation", "meeting"): RESTRICT,
    ("Invitation", "invitation", "unit"): RESTRICT,
    # A street's formal request and the convenor's decision on it.
    ("SpecialMeetingRequest", "special_meeting_request", "conference"): RESTRICT,
    ("SpecialMeetingRequest", "special_meeting_request", "street"): RESTRICT,
    ("SpecialMeetingRequest", "special_meeting_request", "requested_by"): RESTRICT,
    ("SpecialMeetingRequest", "special_meeting_request", "decided_by"): RESTRICT,
    # The meeting an approved request led to: optional; the request and its decision stand alone.
    ("SpecialMeetingRequest", "special_meeting_request", "meeting"): SET_NULL,
    # agenda
    ("AgendaItem", "agenda_item", "conference"): RESTRICT,
    # NULL means "raised by the office": setting it would falsify where the item came from.
    ("AgendaItem", "agenda_item", "street"): RESTRICT,
    ("AgendaItem", "agenda_item", "submitted_by"): RESTRICT,  # who submitted it
    # A merged item lives on in its target: the target cannot go.
    ("AgendaItem", "agenda_item", "merged_into"): RESTRICT,
    # A meeting that has items on its agenda cannot be deleted.
    ("AgendaItem", "agenda_item", "meeting"): RESTRICT,
    # The units requested on an item are part of the item (the app rewrites them as a set).
    ("AgendaItemUnit", "agenda_item_unit", "item"): CASCADE,
    ("AgendaItemUnit", "agenda_item_unit", "unit"): RESTRICT,
    # A slot is the item's history on one meeting and what was decided there.
    ("AgendaSlot", "agenda_slot", "item"): RESTRICT,
    ("AgendaSlot", "agenda_slot", "meeting"): RESTRICT,
    # A file attached to an item is part of it and means nothing alone.
    ("Attachment", "attachment", "item"): CASCADE,
    ("Attachment", "attachment", "uploaded_by"): RESTRICT,  # who supplied the evidence
    # tasks
    # A resolution is an official decision of its meeting, on its item, for its lead unit.
    ("Resolution", "resolution", "meeting"): RESTRICT,
    ("Resolution", "resolution", "item"): RESTRICT,
    ("Resolution", "resolution", "conference"): RESTRICT,
    ("Resolution", "resolution", "lead_unit"): RESTRICT,
    ("Resolution", "resolution", "adopted_by"): RESTRICT,
    # The units named on a resolution are part of it.
    ("ResolutionUnit", "resolution_unit", "resolution"): CASCADE,
    ("ResolutionUnit", "resolution_unit", "unit"): RESTRICT,
    # A supervised task is an official record of its resolution, unit, conference and street.
    ("Task", "task", "resolution"): RESTRICT,
    ("Task", "task", "unit"): RESTRICT,
    ("Task", "task", "conference"): RESTRICT,
    ("Task", "task", "street"): RESTRICT,
    # Reports are the task's dated record: a task with reports cannot be deleted.
    ("TaskReport", "task_report", "task"): RESTRICT,
    ("TaskReport", "task_report", "author"): RESTRICT,
    # Evidence is part of its report (and goes only with it); the task keeps it.
    ("TaskAttachment", "task_attachment", "report"): CASCADE,
    ("TaskAttachment", "task_attachment", "task"): RESTRICT,
    # minutes
    ("Minutes", "minutes", "meeting"): RESTRICT,  # a meeting with minutes cannot be deleted
    ("Minutes", "minutes", "conference"): RESTRICT,
    # Versions, the convenor's comments and decisions, and every published PDF are the record of
    # the minutes, each with who wrote, approved or published it.
    ("MinutesVersion", "minutes_version", "minutes"): RESTRICT,
    ("MinutesVersion", "minutes_version", "author"): RESTRICT,
    ("MinutesVersion", "minutes_version", "approved_by"): RESTRICT,
    ("MinutesComment", "minutes_comment", "minutes"): RESTRICT,
    ("MinutesComment", "minutes_comment", "author"): RESTRICT,
    ("MinutesPublication", "minutes_publication", "minutes"): RESTRICT,
    ("MinutesPublication", "minutes_publication", "published_by"): RESTRICT,
}

_ON_DELETE = r"ON\s+DELETE\s+(?:CASCADE|RESTRICT|SET\s+NULL|SET\s+DEFAULT|NO\s+ACTION)"


def _wanted(backwards: bool) -> dict[tuple[str, str], OnDelete]:
    return {(table, column): CASCADE if backwards else action for (_, table, column), action in RULES.items()}


def _is_sqlite(engine: Any) -> bool:
    return engine.engine_type == "sqlite"


# ---------------------------------------------------------------- PostgreSQL

_PG_FOREIGN_KEYS = """
SELECT c.conname AS name, t.relname AS tbl, a.attname AS col, pg_get_constraintdef(c.oid) AS def
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND n.nspname = current_schema() AND cardinality(c.conkey) = 1
ORDER BY t.relname, a.attname
"""


def _with_on_delete(definition: str, action: OnDelete) -> str:
    """The constraint definition with its ON DELETE clause set to `action` (PostgreSQL omits the
    clause for NO ACTION, so it is added after REFERENCES ... (...) then)."""
    clause = f"ON DELETE {action.value}"
    if re.search(_ON_DELETE, definition, flags=re.I):
        return re.sub(_ON_DELETE, clause, definition, flags=re.I)
    return re.sub(r"(REFERENCES\s+\S+?\s*\([^)]*\))", rf"\1 {clause}", definition, count=1, flags=re.I)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _postgres(engine: Any, wanted: dict[tuple[str, str], OnDelete]) -> None:
    rows = await engine.run_ddl(_PG_FOREIGN_KEYS)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for row in rows:
        found[(row["tbl"], row["col"])] = (row["name"], row["def"])
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise RuntimeError(f"foreign keys not found: {missing}")
    per_table: dict[str, list[str]] = {}
    for (table, column), action in wanted.items():
        name, definition = found[(table, column)]
        new = _with_on_delete(definition, action)
        if new != definition:
            per_table.setdefault(table, []).append(
                f"DROP CONSTRAINT {_quote(name)}, ADD CONSTRAINT {_quote(name)} {new}")
    for table, changes in per_table.items():
        await engine.run_ddl(f"ALTER TABLE {_quote(table)} " + ", ".join(changes))


# ---------------------------------------------------------------- SQLite

# One column definition in a stored CREATE TABLE: "col" <type and constraints> REFERENCES "t" ("c")
# followed by an optional ON DELETE clause.
_SQLITE_REFERENCE = re.compile(
    r'(?P<head>"(?P<col>[^"]+)"[^,"()]*?REFERENCES\s+"[^"]+"\s*\("[^"]+"\))'
    rf"(?P<on_delete>\s+{_ON_DELETE})?",
    flags=re.I)


def _rewrite_create_table(sql: str, table: str, new_name: str,
                          actions: dict[str, OnDelete]) -> tuple[str, set[str]]:
    """The stored CREATE TABLE of `table` as `new_name`, with the ON DELETE clause of each column in
    `actions` rewritten; also the set of those columns actually found."""
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        column = match["col"]
        if column not in actions:
            return match[0]
        seen.add(column)
        return f"{match['head']} ON DELETE {actions[column].value}"

    body = _SQLITE_REFERENCE.sub(replace, sql)
    header = re.match(r'\s*CREATE\s+TABLE\s+(?:"[^"]+"|\S+)', body, flags=re.I)
    if header is None:
        raise RuntimeError(f"unexpected CREATE TABLE for {table}: {sql[:80]}")
    return f"CREATE TABLE {_quote(new_name)}" + body[header.end():], seen


async def _rows(conn: Any, sql: str, *params: Any) -> list[Any]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def _sqlite_rebuild(conn: Any, table: str, actions: dict[str, OnDelete]) -> None:
    current = {row[3]: row[6].upper() for row in await _rows(conn, f"PRAGMA foreign_key_list({_quote(table)})")}
    missing = sorted(set(actions) - set(current))
    if missing:
        raise RuntimeError(f"foreign keys not found on {table}: {missing}")
    if all(current[column] == action.value for column, action in actions.items()):
        return  # already as wanted
    (table_sql,) = (r[0] for r in await _rows(
        conn, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table))
    # Indexes (explicit ones: the automatic ones of UNIQUE / PRIMARY KEY have no SQL and come with
    # the table) and triggers go with the old table; recreated from their stored SQL afterwards.
    extras = [r[0] for r in await _rows(
        conn, "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
              "AND sql IS NOT NULL ORDER BY type, name", table)]
    new_name = f"{table}__fk_rebuild"
    create, seen = _rewrite_create_table(table_sql, table, new_name, actions)
    if seen != set(actions):
        raise RuntimeError(f"could not rewrite the foreign keys of {table}: {sorted(set(actions) - seen)}")
    columns = ", ".join(_quote(r[1]) for r in await _rows(conn, f"PRAGMA table_info({_quote(table)})"))
    await conn.execute(f"DROP TABLE IF EXISTS {_quote(new_name)}")
    await conn.execute(create)
    # Names only, quoted, read from the schema itself.
    await conn.execute(f"INSERT INTO {_quote(new_name)} ({columns}) SELECT {columns} FROM {_quote(table)}")  # noqa: S608
    await conn.execute(f"DROP TABLE {_quote(table)}")
    await conn.execute(f"ALTER TABLE {_quote(new_name)} RENAME TO {_quote(table)}")
    for sql in extras:
        await conn.execute(sql)
    after = {row[3]: row[6].upper() for row in await _rows(conn, f"PRAGMA foreign_key_list({_quote(table)})")}
    wrong = sorted(c for c, action in actions.items() if after.get(c) != action.value)
    if wrong:
        raise RuntimeError(f"ON DELETE not changed on {table}: {wrong}")


async def _sqlite(engine: Any, wanted: dict[tuple[str, str], OnDelete]) -> None:
    import aiosqlite

    per_table: dict[str, dict[str, OnDelete]] = {}
    for (table, column), action in wanted.items():
        per_table.setdefault(table, {})[column] = action
    conn = await aiosqlite.connect(engine.path, isolation_level=None, timeout=60)
    try:
        # Outside any transaction, or it is silently ignored: with foreign keys on, DROP TABLE of
        # the old table would run its ON DELETE actions on the rows pointing at it.
        await conn.execute("PRAGMA foreign_keys = OFF")
        # RENAME leaves the other tables' REFERENCES "<table>" as they are (they name the table,
        # which the rebuilt one becomes again) and does not re-check views and triggers mid-way.
        await conn.execute("PRAGMA legacy_alter_table = ON")
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for table, actions in per_table.items():
                await _sqlite_rebuild(conn, table, actions)
            problems = await _rows(conn, "PRAGMA foreign_key_check")
            if problems:
                raise RuntimeError(f"foreign key check failed after the rebuild: {problems[:5]}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
    finally:
        await conn.close()


# ---------------------------------------------------------------- the migration


class ForeignKeyManager(MigrationManager):
    async def _run_alter_columns(self, backwards: bool = False) -> None:
        """The alter_column entries are for Piccolo's schema snapshot only; the raw steps changed
        the constraints already (Piccolo's own step would fail on SQLite)."""


async def forwards() -> MigrationManager:
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    manager = ForeignKeyManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    # SQLite: the raw step opens its own connection and transaction (see the module docstring).
    manager.wrap_in_transaction = not _is_sqlite(engine)

    for (class_name, table, column), action in RULES.items():
        manager.alter_column(
            table_class_name=class_name, tablename=table, column_name=column, db_column_name=column,
            params={"on_delete": action}, old_params={"on_delete": CASCADE},
            column_class=ForeignKey, old_column_class=ForeignKey, schema=None)

    async def apply(backwards: bool) -> None:
        db = engine_finder()
        if _is_sqlite(db):
            await _sqlite(db, _wanted(backwards))
        else:
            await _postgres(db, _wanted(backwards))

    async def run_forwards() -> None:
        await apply(backwards=False)

    async def run_backwards() -> None:
        await apply(backwards=True)

    manager.add_raw(run_forwards)
    manager.add_raw_backwards(run_backwards)
    return manager
