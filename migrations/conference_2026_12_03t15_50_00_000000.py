"""Assessment (issue 12 item 5): table assessment_score, the score the office enters for a member
unit's other work per conference and year (conference.supervision.tables.AssessmentScore), with a
unique index on (conference, unit, year) in the next migration (raw steps run before a
migration's tables are added). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import DoublePrecision, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-03T15:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "assessment_score"


def _serial() -> Serial:
    return Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                  db_column_name=None, secret=False)


class Conference(Table, tablename="conference", schema=None):
    id = _serial()


class MemberUnit(Table, tablename="member_unit", schema=None):
    id = _serial()


class User(Table, tablename="app_user", schema=None):
    id = _serial()


COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}


def _fk(table: type[Table], *, null: bool, index: bool) -> dict:
    return {**COMMON, "references": table, "on_delete": OnDelete.restrict, "on_update": OnUpdate.cascade,
            "target_column": None, "null": null, "unique": False, "index": index}


COLUMNS = [
    ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
    ("conference", ForeignKey, _fk(Conference, null=True, index=True)),
    ("unit", ForeignKey, _fk(MemberUnit, null=True, index=True)),
    ("year", Integer, {**PLAIN, "default": 0}),
    ("score", DoublePrecision, {**PLAIN, "default": 0.0}),
    ("note", Text, {**PLAIN, "default": ""}),
    ("entered_by", ForeignKey, _fk(User, null=True, index=False)),
    ("entered_by_name", Varchar, {**PLAIN, "length": 60, "default": ""}),
    ("entered_at", Timestamptz, {**PLAIN, "default": TimestamptzNow()}),
    ("version", Integer, {**PLAIN, "default": 1}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_table(class_name="AssessmentScore", tablename="assessment_score", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="AssessmentScore", tablename="assessment_score", column_name=name, db_column_name=name,
            column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None,
        )
    return manager
