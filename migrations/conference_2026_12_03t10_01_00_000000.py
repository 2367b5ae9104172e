"""Fills in the owners of existing streets, member units and convenors: the conference that first had
the record (the earliest membership, convenor appointment or street conference, by start date and id).
A street conference does not register shared records, the district office above it does: when that
first conference is a street conference, its parent is the owner. A record linked nowhere takes the
owner of its kin: a unit that of its parent unit, a street that of the first owned street of the same
district (as the demo data gives them); the rest stay the admin's (NULL). Plain SQL, the same on
SQLite and PostgreSQL; backwards clears the column."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T10:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "registry owners from existing links"

# The owner a linked conference stands for: itself, or its parent when it is a street conference.
OWNER = "CASE WHEN c.level = 'street' AND c.parent IS NOT NULL THEN c.parent ELSE c.id END"
FILL = {
    "member_unit": f"""SELECT {OWNER} FROM membership m JOIN conference c ON c.id = m.conference
                       WHERE m.unit = member_unit.id ORDER BY m.start_date, m.id LIMIT 1""",
    "person": f"""SELECT {OWNER} FROM convenor_appointment a JOIN conference c ON c.id = a.conference
                  WHERE a.person = person.id ORDER BY a.start_date, a.id LIMIT 1""",
    "street": f"""SELECT {OWNER} FROM conference c WHERE c.street = street.id ORDER BY c.id LIMIT 1""",
}
KIN = {
    "member_unit": """SELECT p.owner_conference FROM member_unit p WHERE p.id = member_unit.parent_unit""",
    "street": """SELECT s.owner_conference FROM street s WHERE s.district = street.district
                 AND s.owner_conference IS NOT NULL ORDER BY s.id LIMIT 1""",
}


class Street(Table, tablename="street"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def fill() -> None:
        for tablename, owner in FILL.items():
            await Street.raw(f"UPDATE {tablename} SET owner_conference = ({owner}) WHERE owner_conference IS NULL")
        for _level in range(3):  # units under units under units
            for tablename, owner in KIN.items():
                await Street.raw(f"UPDATE {tablename} SET owner_conference = ({owner}) WHERE owner_conference IS NULL")

    async def clear() -> None:
        for tablename in FILL:
            await Street.raw(f"UPDATE {tablename} SET owner_conference = NULL")

    manager.add_raw(fill)
    manager.add_raw_backwards(clear)
    return manager
