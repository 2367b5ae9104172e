"""Pinyin order (issue 16 item 4): fills `sort_key` for the names already stored (a migration's raw
steps run before its columns are added, hence a migration of its own). From now on the services
write the key with the name (conference.records). Runs again harmlessly: it recomputes every key."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T05:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "fill sort_key from names"

# Written out per table: no SQL is put together from names at run time.
STATEMENTS = {
    "street": ('SELECT id, name FROM "street"', 'UPDATE "street" SET sort_key = {} WHERE id = {}'),
    "conference": ('SELECT id, name FROM "conference"', 'UPDATE "conference" SET sort_key = {} WHERE id = {}'),
    "member_unit": ('SELECT id, name FROM "member_unit"', 'UPDATE "member_unit" SET sort_key = {} WHERE id = {}'),
    "person": ('SELECT id, name FROM "person"', 'UPDATE "person" SET sort_key = {} WHERE id = {}'),
}


async def fill_sort_keys() -> None:
    from piccolo.engine.finder import engine_finder
    from piccolo.querystring import QueryString

    from conference.collation import sort_key

    engine = engine_finder()
    assert engine is not None
    async with engine.transaction():
        for select, update in STATEMENTS.values():
            for row in await engine.run_querystring(QueryString(select)):
                await engine.run_querystring(QueryString(update, sort_key(row["name"]), row["id"]))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_raw(fill_sort_keys)
    return manager
