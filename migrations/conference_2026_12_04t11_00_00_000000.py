"""A complete 会议通知 (issue 11 item 6): meeting.requirements (参会要求) and meeting.reply_deadline
(回执截止时间), meeting.notice_number (the 文号 of its 会议通知, given at the first notice), conference.office_contact and conference.office_phone (the office's contact person
and telephone printed on the notice). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "meeting requirements and reply_deadline; conference office contact"

COMMON = {"primary_key": False, "unique": False, "index": False, "index_method": IndexMethod.btree, "choices": None,
          "db_column_name": None, "secret": False}
COLUMNS = [
    ("Meeting", "meeting", "requirements", Text, {**COMMON, "default": "", "null": False}),
    ("Meeting", "meeting", "reply_deadline", Timestamptz, {**COMMON, "default": None, "null": True}),
    ("Meeting", "meeting", "notice_number", Varchar, {**COMMON, "length": 40, "default": "", "null": False}),
    ("Conference", "conference", "office_contact", Varchar, {**COMMON, "length": 40, "default": "", "null": False}),
    ("Conference", "conference", "office_phone", Varchar, {**COMMON, "length": 40, "default": "", "null": False}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    for class_name, tablename, name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name=class_name, tablename=tablename, column_name=name, db_column_name=name,
            column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None,
        )
    return manager
