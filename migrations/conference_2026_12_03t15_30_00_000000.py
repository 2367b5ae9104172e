"""Covering indexes for the fair rates (issue 12): a task counts in the response rate by the day it
was acknowledged in time (acknowledged_at) or, when it was not, by its ack_due day; in the resolution
and on-time rates by its deadline, with closed_at telling whether it was closed by then
(conference.supervision.views._figures).

- task_supervision_acknowledged and task_supervision_ack_due: the two response branches, each a
  range on its leading column holding everything else the branch reads;
- task_supervision_deadline gains closed_at (the on-time test), so the "due" branch stays
  index-only.

The other supervision indexes keep their use: assigned_at (tasks assigned in the period), closed_at
(closed in the period), rated_at (satisfaction), and status/ack_due/deadline (the open-task counts and
the red, yellow and unacknowledged lists). Raw SQL, the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "supervision indexes for the fair rates (ack_due, acknowledged_at, deadline with closed_at)"

NEW = {
    "task_supervision_acknowledged": "acknowledged_at, status, conference, unit, street, ack_due",
    "task_supervision_ack_due": "ack_due, status, conference, unit, street, acknowledged_at",
}
DEADLINE_BEFORE = "deadline, status, conference, unit, street"
DEADLINE_AFTER = "deadline, status, conference, unit, street, closed_at"


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        for name, columns in NEW.items():
            await engine.run_ddl(f'CREATE INDEX IF NOT EXISTS {name} ON "task" ({columns})')
        await engine.run_ddl("DROP INDEX IF EXISTS task_supervision_deadline")
        await engine.run_ddl(f'CREATE INDEX task_supervision_deadline ON "task" ({DEADLINE_AFTER})')

    async def drop():
        engine = engine_finder()
        for name in NEW:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")
        await engine.run_ddl("DROP INDEX IF EXISTS task_supervision_deadline")
        await engine.run_ddl(f'CREATE INDEX task_supervision_deadline ON "task" ({DEADLINE_BEFORE})')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
