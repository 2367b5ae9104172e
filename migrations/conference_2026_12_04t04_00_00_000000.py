"""Special-meeting requests name the street's items (issue 16 item 5): special_meeting_request.title
(the name the approved meeting takes) and the link table special_meeting_request_item, one row per
accepted item the street chose (made unique per (request, item) by the next migration: Piccolo
runs raw steps before it creates tables). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-04T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "special_meeting_request title and items"


class SpecialMeetingRequest(Table, tablename="special_meeting_request", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


class AgendaItem(Table, tablename="agenda_item", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}
COLUMNS = [
    ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
    ("request", ForeignKey, {**COMMON, "references": SpecialMeetingRequest, "on_delete": OnDelete.cascade,
                             "on_update": OnUpdate.cascade, "target_column": None, "null": True, "unique": False,
                             "index": True}),
    ("item", ForeignKey, {**COMMON, "references": AgendaItem, "on_delete": OnDelete.restrict,
                          "on_update": OnUpdate.cascade, "target_column": None, "null": True, "unique": False,
                          "index": True}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_column(
        table_class_name="SpecialMeetingRequest", tablename="special_meeting_request", column_name="title",
        db_column_name="title", column_class_name="Varchar", column_class=Varchar,
        params={**PLAIN, "length": 120, "default": ""}, schema=None,
    )
    manager.add_table(class_name="SpecialMeetingRequestItem", tablename="special_meeting_request_item", schema=None,
                      columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="SpecialMeetingRequestItem", tablename="special_meeting_request_item", column_name=name,
            db_column_name=name, column_class_name=column_class.__name__, column_class=column_class, params=params,
            schema=None,
        )

    return manager
