"""The SQLite side of backup and restore: a consistent copy of the live database file through
SQLite's online backup API (one read snapshot while the server goes on writing in WAL mode), its
row counts and migration, and the restore that copies the archived file back through the same API,
so open connections and the WAL stay consistent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from piccolo.querystring import QueryString

from conference.backup.common import MIGRATION_TABLE, BackupError, filled_by_migrate
from conference.db import identifier
from conference.i18n import gettext as _


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [r[0] for r in rows]


def _count(conn: sqlite3.Connection, table: str) -> int:
    # The table's name comes from sqlite_master (_tables) and is quoted by db.identifier.
    return int(conn.execute(*QueryString("SELECT COUNT(*) FROM {}", identifier(table)).compile_string("sqlite")).fetchone()[0])


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: _count(conn, name) for name in _tables(conn)}


def _migration(conn: sqlite3.Connection) -> str | None:
    if MIGRATION_TABLE not in _tables(conn):
        return None
    row = conn.execute("SELECT MAX(name) FROM migration WHERE app_name = 'conference'").fetchone()
    return row[0] if row else None


def copy_database(source: Path, target: Path) -> tuple[dict[str, int], str | None]:
    """Copy the live database into `target` (one read snapshot; writers go on meanwhile)."""
    if not source.is_file():
        raise BackupError(_("数据库文件不存在：{path}").format(path=source))
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, so one consistent snapshot
    finally:
        src.close()
    try:
        # The copy stands alone: one file, no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
        counts, migration = table_counts(dst), _migration(dst)
    finally:
        dst.close()
    return counts, migration


def nonempty_tables(path: Path) -> list[str]:
    """Tables of the live database that hold rows (Piccolo's migration table aside)."""
    if not path.is_file():
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        return [name for name, count in table_counts(conn).items() if count and not filled_by_migrate(name)]
    finally:
        conn.close()


def restore_database(copy: Path, target: Path) -> None:
    conn = sqlite3.connect(copy)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(_("备份中的数据库已损坏：{detail}").format(detail=result))
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            # Replaces every page of the target in one write transaction; other connections see the
            # old database or the restored one, never a mixture.
            conn.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        conn.close()
