"""`conference backup FILE` and `conference restore FILE`: one .tar archive holding a consistent copy
of the database and the files the system keeps on disk, with a manifest.

Stored files (agenda and task attachments, published minutes PDFs) live in the database (bytea /
BLOB columns), so the database copy carries them; the .eml files written to the outbox directory when
no SMTP server is set are the only files on disk, and they go into the archive under `files/outbox/`.

- SQLite: SQLite's online backup API (`sqlite3.Connection.backup`) reads one snapshot while the
  server goes on writing (WAL mode); restore copies the archived file into the database through the
  same API, so open connections and the WAL stay consistent.
- PostgreSQL: `pg_dump --format=custom` of the schema named by `search_path` in DATABASE_URL (else
  `public`), inside a snapshot exported by a repeatable-read transaction that also counts the rows
  for the manifest; restore runs `pg_restore` into `psql --single-transaction`, after dropping what
  the schema holds in the same transaction, so a failed restore changes nothing.

The manifest (`manifest.json`, the archive's first member) names the format and its version, the
database kind, the schema, the last applied migration, the time of the copy, the row count of every
table and the SHA-256 of every member; restore checks all of them.
"""

# SQL here names tables and the schema read from the catalog, always quoted; the tools run are
# pg_dump / pg_restore / psql with arguments built here, never through a shell.
# ruff: noqa: S603, S608

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from conference.i18n import gettext as _
from conference.settings import ROOT, Settings, get_settings

FORMAT = "conference-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
FILES_PREFIX = "files/outbox/"
# Tables a plain `conference migrate` fills: Piccolo's table of applied migrations and the holiday
# calendar seeded from chinese-calendar. A database holding only these was never used and counts
# as empty (the restore replaces them like every other table).
MIGRATION_TABLE = "migration"
FILLED_BY_MIGRATE = {MIGRATION_TABLE, "holiday_day", "holiday_calendar"}
# The search index (conference.search): derived from the other tables by triggers; SQLite's FTS5
# tables keep their own configuration rows even when nothing is indexed.
SEARCH_INDEX_PREFIX = "search_"


def _filled_by_migrate(table: str) -> bool:
    return table in FILLED_BY_MIGRATE or table.startswith(SEARCH_INDEX_PREFIX)
# Connection parameters libpq understands in a URI; others in DATABASE_URL are server settings for
# asyncpg (search_path) and would make pg_dump refuse the URI.
LIBPQ_PARAMS = {
    "application_name", "channel_binding", "connect_timeout", "gssencmode", "keepalives", "keepalives_count",
    "keepalives_idle", "keepalives_interval", "options", "passfile", "password", "sslcert", "sslcrl", "sslkey",
    "sslmode", "sslpassword", "sslrootcert", "target_session_attrs", "user", "host", "hostaddr", "port", "dbname",
}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


class BackupError(Exception):
    """A refusal or failure with a message for the operator."""


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    files: int
    pending_migrations: list[str]


# --- common -----------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def known_migrations() -> list[str]:
    """IDs of the migrations this code ships, oldest first (the Piccolo app's migrations folder, read
    without importing the app)."""
    ids = []
    for path in (ROOT / "migrations").glob("*.py"):
        match = re.search(r'^ID = "([^"]+)"', path.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            ids.append(match.group(1))
    return sorted(ids)


def database_kind(settings: Settings) -> str:
    return "postgresql" if settings.is_postgres else "sqlite"


def _outbox_files(settings: Settings) -> list[Path]:
    directory = settings.outbox_dir
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == ".eml" and not p.name.startswith("."))


@contextmanager
def _workdir(near: Path) -> Iterator[Path]:
    """A private temporary directory (mode 0700), beside `near` when possible so that large copies
    stay on the same disk."""
    try:
        near.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix=".conference-backup-", dir=near))
    except OSError:
        directory = Path(tempfile.mkdtemp(prefix="conference-backup-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [r[0] for r in rows]


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in _sqlite_tables(conn)}


def _sqlite_migration(conn: sqlite3.Connection) -> str | None:
    if MIGRATION_TABLE not in _sqlite_tables(conn):
        return None
    row = conn.execute("SELECT MAX(name) FROM migration WHERE app_name = 'conference'").fetchone()
    return row[0] if row else None


def _sqlite_copy(source: Path, target: Path) -> tuple[dict[str, int], str | None]:
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
        counts, migration = _sqlite_counts(dst), _sqlite_migration(dst)
    finally:
        dst.close()
    return counts, migration


def _sqlite_nonempty(path: Path) -> list[str]:
    """Tables of the live database that hold rows (Piccolo's migration table aside)."""
    if not path.is_file():
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        return [name for name, count in _sqlite_counts(conn).items() if count and not _filled_by_migrate(name)]
    finally:
        conn.close()


def _sqlite_restore(copy: Path, target: Path) -> None:
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


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_schema(url: str) -> str:
    """The schema the application works in: the first entry of `search_path` in the URL, else public."""
    query = dict(parse_qsl(urlsplit(url).query))
    for entry in query.get("search_path", "").split(","):
        entry = entry.strip().strip('"')
        if entry and entry != "$user":
            return entry
    return "public"


def libpq_url(url: str) -> str:
    """DATABASE_URL without the parameters libpq does not know (search_path goes to `-n` instead)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k in LIBPQ_PARAMS]
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), ""))


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore / psql from PATH, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return str(candidates[-1])
    raise BackupError(_("找不到 {tool}：请安装 PostgreSQL 客户端（apt-get install postgresql-client）。").format(tool=name))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def _pg_connect(url: str) -> Any:
    import asyncpg

    try:
        return await asyncpg.connect(url)
    except Exception as exc:
        raise BackupError(_("无法连接数据库：{error}").format(error=exc)) from exc


async def _pg_tables(conn: Any, schema: str) -> list[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY tablename", schema)
    return [r["tablename"] for r in rows]


async def _pg_counts(conn: Any, schema: str) -> dict[str, int]:
    return {name: await conn.fetchval(f"SELECT COUNT(*) FROM {_quote(schema)}.{_quote(name)}")
            for name in await _pg_tables(conn, schema)}


async def _pg_migration(conn: Any, schema: str) -> str | None:
    if MIGRATION_TABLE not in await _pg_tables(conn, schema):
        return None
    return await conn.fetchval(f"SELECT MAX(name) FROM {_quote(schema)}.migration WHERE app_name = 'conference'")


def _run_tool(args: list[str], what: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PGAPPNAME": "conference-backup"}
    result = subprocess.run(args, capture_output=True, check=False, env=env, **kwargs)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise BackupError(_("{what}失败：{detail}").format(what=what, detail=detail))
    return result


async def _pg_copy(url: str, target: Path) -> tuple[dict[str, int], str | None, str]:
    """pg_dump inside a snapshot that also yields the row counts, so the manifest matches the dump."""
    schema = pg_schema(url)
    pg_dump = pg_tool("pg_dump")
    conn = await _pg_connect(url)
    try:
        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()
        try:
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema):
                raise BackupError(_("数据库中没有模式 {schema}。").format(schema=schema))
            counts = await _pg_counts(conn, schema)
            migration = await _pg_migration(conn, schema)
            args = [pg_dump, "--format=custom", f"--schema={schema}", f"--snapshot={snapshot}", "--no-password",
                    f"--file={target}", f"--dbname={libpq_url(url)}"]
            await asyncio.to_thread(_run_tool, args, "pg_dump")
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    return counts, migration, schema


async def _pg_nonempty(url: str) -> list[str]:
    schema = pg_schema(url)
    conn = await _pg_connect(url)
    try:
        nonempty = []
        for name in await _pg_tables(conn, schema):
            if not _filled_by_migrate(name) and await conn.fetchval(
                    f"SELECT EXISTS (SELECT 1 FROM {_quote(schema)}.{_quote(name)})"):
                nonempty.append(name)
        return nonempty
    finally:
        await conn.close()


def _wipe_sql(schema: str) -> str:
    """Drops everything the schema holds (tables with their sequences and indexes, views, leftover
    sequences, types and functions) but keeps the schema itself, which the operator may not own."""
    literal = "'" + schema.replace("'", "''") + "'"
    return f"""
CREATE SCHEMA IF NOT EXISTS {_quote(schema)};
DO $wipe$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = {literal} AND c.relkind IN ('v', 'm') LOOP
    EXECUTE format(CASE r.relkind WHEN 'v' THEN 'DROP VIEW IF EXISTS %I.%I CASCADE'
                   ELSE 'DROP MATERIALIZED VIEW IF EXISTS %I.%I CASCADE' END, {literal}, r.relname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = {literal} LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', {literal}, r.tablename);
  END LOOP;
  FOR r IN SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = {literal} LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', {literal}, r.sequence_name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = {literal} LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.sig);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = {literal} AND t.typtype IN ('e', 'd', 'c') AND NOT EXISTS
             (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c') LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I.%I CASCADE', {literal}, r.typname);
  END LOOP;
END
$wipe$;
"""


def _pg_restore(url: str, dump: Path, workdir: Path) -> None:
    schema = pg_schema(url)
    pg_restore, psql = pg_tool("pg_restore"), pg_tool("psql")
    # Every entry of the archive except the schema itself (it exists already, or the wipe made it).
    listing = _run_tool([pg_restore, "--list", str(dump)], "pg_restore").stdout.decode()
    wanted = [line for line in listing.splitlines()
              if line and not line.startswith(";")
              and not re.match(r"^\d+; \d+ \d+ (SCHEMA|(COMMENT|ACL) - SCHEMA) ", line)]
    list_file = workdir / "restore.list"
    list_file.write_text("\n".join(wanted) + "\n", encoding="utf-8")
    script = workdir / "restore.sql"
    _run_tool([pg_restore, "--no-owner", "--no-privileges", f"--use-list={list_file}", f"--file={script}", str(dump)],
              "pg_restore")
    # One transaction: the wipe and the whole restore commit together or not at all.
    with script.open("rb") as body:
        full = workdir / "full.sql"
        with full.open("wb") as out:
            out.write(_wipe_sql(schema).encode())
            shutil.copyfileobj(body, out)
    _run_tool([psql, "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--single-transaction",
               f"--file={full}", f"--dbname={libpq_url(url)}"], "psql")


# --- archive ----------------------------------------------------------------------------------


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mtime = int(path.stat().st_mtime)
    info.mode = 0o600
    with path.open("rb") as f:
        tar.addfile(info, f)


def backup(destination: Path, settings: Settings | None = None) -> dict[str, Any]:
    """Write the archive to `destination` (atomically: a temporary file renamed at the end)."""
    settings = settings or get_settings()
    destination = destination.resolve()
    if destination.is_dir():
        raise BackupError(_("{path} 是一个目录，请给出备份文件名。").format(path=destination))
    destination.parent.mkdir(parents=True, exist_ok=True)
    created = dt.datetime.now(dt.UTC)
    kind = database_kind(settings)
    with _workdir(destination.parent) as work:
        schema: str | None = None
        if kind == "sqlite":
            member, copy = SQLITE_MEMBER, work / SQLITE_MEMBER
            counts, migration = _sqlite_copy(settings.sqlite_path, copy)
        else:
            member, copy = PG_MEMBER, work / PG_MEMBER
            counts, migration, schema = asyncio.run(_pg_copy(settings.database_url, copy))
        if migration is None:
            raise BackupError(_("数据库尚未建表，请先运行：conference migrate"))
        files = _outbox_files(settings)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "database": kind,
            "schema": schema,
            "migration": migration,
            "created_at": created.isoformat(timespec="seconds"),
            "database_file": {"name": member, "sha256": _sha256_file(copy), "size": copy.stat().st_size},
            "tables": counts,
            "files": [{"name": FILES_PREFIX + p.name, "sha256": _sha256_file(p), "size": p.stat().st_size}
                      for p in files],
        }
        fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
                _add_bytes(tar, MANIFEST, text, created.timestamp())
                _add_file(tar, member, copy)
                for entry, path in zip(manifest["files"], files, strict=True):
                    _add_file(tar, entry["name"], path)
            tmp.chmod(0o600)  # it holds every account's data: readable by the owner only
            os.replace(tmp, destination)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return manifest


def _open_archive(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise BackupError(_("备份文件不存在：{path}").format(path=path))
    try:
        return tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(_("{path} 不是本系统的备份文件（{error}）。").format(path=path, error=exc)) from exc


def read_manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        if handle is None:
            raise KeyError(MANIFEST)
        manifest = json.loads(handle.read().decode("utf-8"))
    except (KeyError, ValueError, tarfile.TarError) as exc:
        raise BackupError(_("{path} 不是本系统的备份文件：缺少有效的 manifest.json。").format(path=path)) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("{path} 不是本系统的备份文件。").format(path=path))
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(_("备份格式版本 {version} 不受支持（本程序支持到 {supported}），请先升级程序。").format(
            version=version, supported=FORMAT_VERSION))
    for key in ("database", "migration", "created_at", "database_file", "tables", "files"):
        if key not in manifest:
            raise BackupError(_("备份清单缺少字段 {key}。").format(key=key))
    return manifest


def _extract_checked(tar: tarfile.TarFile, name: str, sha256: str, target: Path) -> None:
    try:
        member = tar.getmember(name)
    except KeyError as exc:
        raise BackupError(_("备份文件不完整：缺少 {name}。").format(name=name)) from exc
    handle = tar.extractfile(member) if member.isfile() else None
    if handle is None:
        raise BackupError(_("备份文件不完整：缺少 {name}。").format(name=name))
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise BackupError(_("备份文件已损坏：{name} 的校验值不符。").format(name=name))


def describe(path: Path) -> dict[str, Any]:
    with _open_archive(path) as tar:
        return read_manifest(tar, path)


def restore(source: Path, *, force: bool = False, settings: Settings | None = None) -> RestoreResult:
    settings = settings or get_settings()
    source = source.resolve()
    kind = database_kind(settings)
    with _open_archive(source) as tar:
        manifest = read_manifest(tar, source)
        if manifest["database"] != kind:
            raise BackupError(_("备份来自 {source} 数据库，当前 DATABASE_URL 指向 {target} 数据库，不能恢复。").format(
                source=manifest["database"], target=kind))
        if kind == "postgresql" and manifest.get("schema") != pg_schema(settings.database_url):
            raise BackupError(_("备份来自模式 {source}，当前 DATABASE_URL 使用模式 {target}；请让 search_path 指向 {source} 后再恢复。").format(
                source=manifest.get("schema"), target=pg_schema(settings.database_url)))
        known = known_migrations()
        if manifest["migration"] not in known:
            raise BackupError(_("备份的数据库结构（迁移 {migration}）不是本程序所知的版本，请先把程序升级到备份时的版本。").format(
                migration=manifest["migration"]))
        files = manifest["files"]
        for entry in files:
            name = str(entry.get("name", ""))
            if not name.startswith(FILES_PREFIX) or not _SAFE_NAME.match(name.removeprefix(FILES_PREFIX)):
                raise BackupError(_("备份清单中的文件名不安全：{name}").format(name=name))

        if kind == "sqlite":
            nonempty = _sqlite_nonempty(settings.sqlite_path)
        else:
            nonempty = asyncio.run(_pg_nonempty(settings.database_url))
        if nonempty and not force:
            raise BackupError(_("目标数据库不是空的（{tables} 等表中已有数据），已拒绝恢复。确认要用备份覆盖现有全部数据，请加 --force。").format(
                tables="、".join(nonempty[:3])))

        near = settings.sqlite_path.parent if kind == "sqlite" else settings.outbox_dir.parent
        with _workdir(near) as work:
            database_file = manifest["database_file"]
            copy = work / ("database.sqlite3" if kind == "sqlite" else "database.pgdump")
            _extract_checked(tar, database_file["name"], database_file["sha256"], copy)
            staged = work / "files"
            staged.mkdir()
            for entry in files:
                _extract_checked(tar, entry["name"], entry["sha256"], staged / entry["name"].removeprefix(FILES_PREFIX))

            if kind == "sqlite":
                conn = sqlite3.connect(copy)
                try:
                    counts = _sqlite_counts(conn)
                finally:
                    conn.close()
                if counts != manifest["tables"]:
                    raise BackupError(_("备份中的数据库与清单的行数不符，未恢复。"))
                _sqlite_restore(copy, settings.sqlite_path)
            else:
                _pg_restore(settings.database_url, copy, work)
                counts = asyncio.run(_pg_restored_counts(settings.database_url))
                if counts != manifest["tables"]:
                    raise BackupError(_("恢复后的行数与备份清单不符，请检查数据库。"))

            outbox = settings.outbox_dir
            if files:
                outbox.mkdir(parents=True, exist_ok=True)
            for entry in files:
                name = entry["name"].removeprefix(FILES_PREFIX)
                shutil.move(staged / name, outbox / name)
    pending = [m for m in known if m > manifest["migration"]]
    return RestoreResult(manifest=manifest, files=len(files), pending_migrations=pending)


async def _pg_restored_counts(url: str) -> dict[str, int]:
    conn = await _pg_connect(url)
    try:
        return await _pg_counts(conn, pg_schema(url))
    finally:
        await conn.close()

