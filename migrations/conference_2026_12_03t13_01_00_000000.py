"""Seeds the holiday calendar from chinese-calendar for every year it knows (so that existing
installs count working days as before), and its counter row. Days already present are kept, so the
seed never overwrites what an office entered. Backwards empties both tables."""

import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T13:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "holiday calendar seeded from chinese-calendar"


class HolidayDay(Table, tablename="holiday_day"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def seed() -> None:
        from conference.holidays.seed import official_days

        now = dt.datetime.now(dt.UTC)
        rows = await HolidayDay.raw("SELECT day FROM holiday_day")
        present = {str(r["day"])[:10] for r in rows}
        for day, kind, name in official_days():
            if day.isoformat() in present:
                continue
            await HolidayDay.raw("INSERT INTO holiday_day (day, kind, name, year, created_at) VALUES ({}, {}, {}, {}, {})",
                                 day, kind, name, day.year, now)
        if not await HolidayDay.raw("SELECT id FROM holiday_calendar WHERE id = 1"):
            await HolidayDay.raw("INSERT INTO holiday_calendar (id, version, changed_at) VALUES (1, 1, {})", now)

    async def clear() -> None:
        await HolidayDay.raw("DELETE FROM holiday_day")
        await HolidayDay.raw("DELETE FROM holiday_calendar")

    manager.add_raw(seed)
    manager.add_raw_backwards(clear)
    return manager
