"""Accounts the office gives (issue 11 item 3): app_user.email (where the set-password and reset
links go) and the table account_token, the hashed single-use tokens of those links
(conference.accounts.tables.AccountToken). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-04T07:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "app_user email, account_token"


class User(Table, tablename="app_user", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}
COLUMNS = [
    ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
    ("account", ForeignKey, {**COMMON, "references": User, "on_delete": OnDelete.cascade, "on_update": OnUpdate.cascade,
                             "target_column": None, "null": True, "unique": False, "index": True}),
    ("purpose", Varchar, {**PLAIN, "length": 16, "default": ""}),
    ("token_hash", Varchar, {**PLAIN, "length": 64, "default": "", "unique": True}),
    ("created_at", Timestamptz, {**PLAIN, "default": TimestamptzNow()}),
    ("expires_at", Timestamptz, {**PLAIN, "default": TimestamptzNow()}),
    ("used_at", Timestamptz, {**COMMON, "null": True, "unique": False, "index": False, "default": None}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_column(
        table_class_name="User", tablename="app_user", column_name="email", db_column_name="email",
        column_class_name="Varchar", column_class=Varchar, params={**PLAIN, "length": 120, "default": ""}, schema=None,
    )
    manager.add_table(class_name="AccountToken", tablename="account_token", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="AccountToken", tablename="account_token", column_name=name, db_column_name=name,
            column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None,
        )
    return manager
