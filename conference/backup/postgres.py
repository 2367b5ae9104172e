"""The PostgreSQL side of backup and restore: `pg_dump --format=custom` of the schema named by
`search_path` in DATABASE_URL (else `public`) inside a snapshot exported by a repeatable-read
transaction that also counts the rows for the manifest; restore runs `pg_restore` into
`psql --single-transaction` after dropping what the schema holds, in the same transaction, so a
failed restore changes nothing. Also finds the client tools and turns DATABASE_URL into a libpq URI."""

# Names of tables (read from the catalog) and of the schema (from DATABASE_URL) enter SQL only
# quoted by db.identifier, or as psql variables that psql quotes; the tools run are pg_dump /
# pg_restore / psql with arguments built here, never through a shell.
# ruff: noqa: S603

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from piccolo.querystring import QueryString

from conference.backup.common import MIGRATION_TABLE, BackupError, filled_by_migrate
from conference.db import identifier
from conference.i18n import gettext as _

# Connection parameters libpq understands in a URI; others in DATABASE_URL are server settings for
# asyncpg (search_path) and would make pg_dump refuse the URI.
LIBPQ_PARAMS = {
    "application_name", "channel_binding", "connect_timeout", "gssencmode", "keepalives", "keepalives_count",
    "keepalives_idle", "keepalives_interval", "options", "passfile", "password", "sslcert", "sslcrl", "sslkey",
    "sslmode", "sslpassword", "sslrootcert", "target_session_attrs", "user", "host", "hostaddr", "port", "dbname",
}


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


async def _connect(url: str) -> Any:
    import asyncpg

    try:
        return await asyncpg.connect(url)
    except Exception as exc:
        raise BackupError(_("无法连接数据库：{error}").format(error=exc)) from exc


async def _tables(conn: Any, schema: str) -> list[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY tablename", schema)
    return [r["tablename"] for r in rows]


async def _value(conn: Any, query: QueryString) -> Any:
    sql, args = query.compile_string("postgres")
    return await conn.fetchval(sql, *args)


async def _counts(conn: Any, schema: str) -> dict[str, int]:
    return {name: await _value(conn, QueryString("SELECT COUNT(*) FROM {}.{}", identifier(schema), identifier(name)))
            for name in await _tables(conn, schema)}


async def _migration(conn: Any, schema: str) -> str | None:
    if MIGRATION_TABLE not in await _tables(conn, schema):
        return None
    return await _value(conn, QueryString("SELECT MAX(name) FROM {}.migration WHERE app_name = 'conference'",
                                          identifier(schema)))


def _run_tool(args: list[str], what: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PGAPPNAME": "conference-backup"}
    result = subprocess.run(args, capture_output=True, check=False, env=env, **kwargs)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise BackupError(_("{what}失败：{detail}").format(what=what, detail=detail))
    return result


async def copy_database(url: str, target: Path) -> tuple[dict[str, int], str | None, str]:
    """pg_dump inside a snapshot that also yields the row counts, so the manifest matches the dump."""
    schema = pg_schema(url)
    pg_dump = pg_tool("pg_dump")
    conn = await _connect(url)
    try:
        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()
        try:
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema):
                raise BackupError(_("数据库中没有模式 {schema}。").format(schema=schema))
            counts = await _counts(conn, schema)
            migration = await _migration(conn, schema)
            args = [pg_dump, "--format=custom", f"--schema={schema}", f"--snapshot={snapshot}", "--no-password",
                    f"--file={target}", f"--dbname={libpq_url(url)}"]
            await asyncio.to_thread(_run_tool, args, "pg_dump")
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    return counts, migration, schema


async def nonempty_tables(url: str) -> list[str]:
    schema = pg_schema(url)
    conn = await _connect(url)
    try:
        nonempty = []
        for name in await _tables(conn, schema):
            if not filled_by_migrate(name) and await _value(
                    conn, QueryString("SELECT EXISTS (SELECT 1 FROM {}.{})", identifier(schema), identifier(name))):
                nonempty.append(name)
        return nonempty
    finally:
        await conn.close()


# Drops everything the restored schema holds (tables with their sequences and indexes, views,
# leftover sequences, types and functions) but keeps the schema itself, which the operator may not
# own. Fixed text: the schema comes as the psql variable `wipe_schema` (psql quotes it, :"..." as
# an identifier, :'...' as a literal); psql does not look into the dollar-quoted DO block, which
# reads it back from the transaction's setting instead.
WIPE_SQL = """
CREATE SCHEMA IF NOT EXISTS :"wipe_schema";
SELECT set_config('conference.wipe_schema', :'wipe_schema', true);
DO $wipe$
DECLARE r record; s text := current_setting('conference.wipe_schema');
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = s AND c.relkind IN ('v', 'm') LOOP
    EXECUTE format(CASE r.relkind WHEN 'v' THEN 'DROP VIEW IF EXISTS %I.%I CASCADE'
                   ELSE 'DROP MATERIALIZED VIEW IF EXISTS %I.%I CASCADE' END, s, r.relname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = s LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', s, r.tablename);
  END LOOP;
  FOR r IN SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = s LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', s, r.sequence_name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = s LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.sig);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = s AND t.typtype IN ('e', 'd', 'c') AND NOT EXISTS
             (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c') LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I.%I CASCADE', s, r.typname);
  END LOOP;
END
$wipe$;
"""


def restore_database(url: str, dump: Path, workdir: Path) -> None:
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
            out.write(WIPE_SQL.encode())
            shutil.copyfileobj(body, out)
    _run_tool([psql, "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--single-transaction",
               f"--set=wipe_schema={schema}", f"--file={full}", f"--dbname={libpq_url(url)}"], "psql")


async def table_counts(url: str) -> dict[str, int]:
    conn = await _connect(url)
    try:
        return await _counts(conn, pg_schema(url))
    finally:
        await conn.close()
