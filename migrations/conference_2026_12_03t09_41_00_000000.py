"""Rules that must hold once, as database constraints (issue 9).

PostgreSQL with several workers runs two requests for the same record side by side; a rule checked
by reading first ("this unit is not invited yet", "the next number is 4") lets both through. The
services lock the record they act on (conference.db.atomic), and these unique indexes are the
backstop that makes a second insert fail instead of duplicating (answered as 409):

- one invitation per meeting and unit;
- resolution numbers unique per meeting;
- agenda positions unique per meeting (items not on a meeting have no meeting, and NULLs never clash);
- the minutes' issue number (第N期) unique per conference and year (columns added by the
  previous migration, filled in here).

Duplicates left behind by the old behaviour are repaired where the repair is mechanical (agenda
positions and resolution numbers are renumbered in their existing order, minutes issue numbers
are filled in creation order, which is how they were counted); duplicate invitations need a person
to decide which reply stands, so the migration stops and names them.
"""

from collections import defaultdict
from zoneinfo import ZoneInfo

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T09:41:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique invitation, resolution number, agenda position, minutes issue number"

UNIQUE_INDEXES = {
    "invitation_meeting_unit_key": 'ON "invitation" (meeting, unit)',
    "resolution_meeting_number_key": 'ON "resolution" (meeting, number)',
    "agenda_item_meeting_position_key": 'ON "agenda_item" (meeting, position) WHERE meeting IS NOT NULL',
    "minutes_issue_key": 'ON "minutes" (conference, issue_year, issue_number)',
}

async def _renumber(run, table: str, column: str) -> None:
    """Renumber `column` 1, 2, 3 per meeting, in the existing order, where a meeting has duplicates."""
    rows = await run(f'SELECT id, meeting, {column} AS n FROM "{table}" WHERE meeting IS NOT NULL ORDER BY meeting, {column}, id')
    by_meeting: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_meeting[row["meeting"]].append(row)
    for group in by_meeting.values():
        if len({r["n"] for r in group}) == len(group):
            continue
        # Park on negative values first: the renumbering passes through states the index forbids.
        for row in group:
            await run(f'UPDATE "{table}" SET {column} = {-int(row["id"])} WHERE id = {int(row["id"])}')
        for n, row in enumerate(group, start=1):
            await run(f'UPDATE "{table}" SET {column} = {n} WHERE id = {int(row["id"])}')


async def _fill_issue_numbers(run) -> None:
    from conference.settings import get_settings

    zone = ZoneInfo(get_settings().time_zone)
    rows = await run('SELECT n.id, n.conference, m.starts_at FROM "minutes" n JOIN "meeting" m ON m.id = n.meeting ORDER BY n.id')
    counters: dict[tuple[int, int], int] = defaultdict(int)
    for row in rows:
        starts = row["starts_at"]
        if isinstance(starts, str):  # SQLite returns the stored text when the row factory does not convert
            from datetime import datetime

            starts = datetime.fromisoformat(starts)
        year = starts.astimezone(zone).year
        counters[(row["conference"], year)] += 1
        await run(f'UPDATE "minutes" SET issue_year = {year}, issue_number = {counters[(row["conference"], year)]} '
                  f'WHERE id = {int(row["id"])}')


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create() -> None:
        run = engine_finder().run_ddl
        duplicates = await run('SELECT meeting, unit, COUNT(*) AS n FROM "invitation" GROUP BY meeting, unit HAVING COUNT(*) > 1')
        if duplicates:
            pairs = ", ".join(f"meeting {r['meeting']} unit {r['unit']}" for r in duplicates)
            raise RuntimeError(f"duplicate invitations must be resolved by hand before this migration: {pairs}")
        await _renumber(run, "agenda_item", "position")
        await _renumber(run, "resolution", "number")
        await _fill_issue_numbers(run)
        for name, target in UNIQUE_INDEXES.items():
            await run(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} {target}")

    async def drop() -> None:
        for name in UNIQUE_INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
