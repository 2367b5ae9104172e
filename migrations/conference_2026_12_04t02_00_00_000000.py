"""Full-text search (issue 16 item 1): one `search_document` row per searchable record, kept
current by triggers on the source tables, so a document changes in the same transaction as its
record whatever code path writes it (services, the API, the demo loader, a bulk import, psql).

Kinds and their text (title, body):
  item        agenda_item.title, description + the notes of its outcomes (agenda_slot.note)
  resolution  "", resolution.text + note
  report      "", task_report.text
  minutes     "", the sections of one minutes_version (JSON object of texts)
  meeting     meeting.title, location

Chinese has no spaces between words, so the index works on character trigrams, which find any
substring of three or more characters:
  SQLite      an FTS5 table (tokenize='trigram', SQLite >= 3.34) over search_document as its
              external content, kept in step by three triggers on search_document;
  PostgreSQL  pg_trgm GIN indexes on title and body, used by ILIKE '%...%'.
Shorter terms (two characters, e.g. 坠落) cannot use a trigram index: the query scans
search_document with LIKE / ILIKE (see conference.search.services).

pg_trgm goes into the `public` schema (the extension is per database, and the app and the tests
may run in other schemas), or into the current schema where public cannot be written; the GIN
indexes name the operator class with its schema. backwards() leaves the extension installed:
other schemas of the same database may use it.

The SQL is written out here (not imported) so that this migration stays what it was when applied.
"""

# The SQL is built from the fixed names above, never from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search_document kept by triggers; FTS5 trigram (SQLite) / pg_trgm GIN (PostgreSQL)"


@dataclass(frozen=True)
class Dialect:
    postgres: bool

    @property
    def newline(self) -> str:
        return "chr(10)" if self.postgres else "char(10)"

    def join(self, expression: str) -> str:
        """Aggregate text rows with newlines between them."""
        return f"string_agg({expression}, chr(10))" if self.postgres else f"group_concat({expression}, char(10))"

    def json_values(self, expression: str) -> str:
        """The string values of a JSON object stored as text, joined by newlines."""
        if self.postgres:
            return f"(SELECT string_agg(value, chr(10)) FROM json_each_text(({expression})::json) WHERE value <> '')"
        return f"(SELECT group_concat(value, char(10)) FROM json_each({expression}) WHERE value <> '')"


@dataclass(frozen=True)
class Source:
    kind: str
    table: str
    columns: tuple[str, ...]  # an UPDATE of these re-indexes the row
    title: Callable[[Dialect, str], str]  # SQL of the title for a row alias (NEW, src)
    body: Callable[[Dialect, str], str]


def _item_body(d: Dialect, row: str) -> str:
    notes = f"(SELECT {d.join('s.note')} FROM agenda_slot s WHERE s.item = {row}.id AND s.note <> '')"
    return f"{row}.description || COALESCE({d.newline} || {notes}, '')"


SOURCES = (
    Source("item", "agenda_item", ("title", "description"), lambda d, r: f"{r}.title", _item_body),
    Source("resolution", "resolution", ("text", "note"), lambda d, r: "''",
           lambda d, r: f"{r}.text || CASE WHEN {r}.note <> '' THEN {d.newline} || {r}.note ELSE '' END"),
    Source("report", "task_report", ("text",), lambda d, r: "''", lambda d, r: f"{r}.text"),
    Source("minutes", "minutes_version", ("sections",), lambda d, r: "''",
           lambda d, r: f"COALESCE({d.json_values(f'{r}.sections')}, '')"),
    Source("meeting", "meeting", ("title", "location"), lambda d, r: f"{r}.title", lambda d, r: f"{r}.location"),
)
ITEM = SOURCES[0]


def _upsert(d: Dialect, s: Source) -> str:
    return (f"INSERT INTO search_document (kind, ref, title, body) VALUES ('{s.kind}', NEW.id, {s.title(d, 'NEW')}, "
            f"{s.body(d, 'NEW')}) ON CONFLICT (kind, ref) DO UPDATE SET title = excluded.title, body = excluded.body")


def _refresh_item(d: Dialect, item: str) -> str:
    """An outcome note changed: the item's body again, from the item row."""
    return (f"UPDATE search_document SET body = (SELECT {ITEM.body(d, 'src')} FROM agenda_item src WHERE src.id = {item}) "
            f"WHERE kind = 'item' AND ref = {item}")


def sqlite_statements() -> list[str]:
    d = Dialect(postgres=False)
    statements = [
        """CREATE TABLE IF NOT EXISTS search_document (
               id INTEGER PRIMARY KEY, kind VARCHAR(16) NOT NULL, ref INTEGER NOT NULL,
               title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '', UNIQUE (kind, ref))""",
        """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
               title, body, content='search_document', content_rowid='id', tokenize='trigram')""",
        """CREATE TRIGGER IF NOT EXISTS search_fts_insert AFTER INSERT ON search_document BEGIN
               INSERT INTO search_fts (rowid, title, body) VALUES (NEW.id, NEW.title, NEW.body); END""",
        """CREATE TRIGGER IF NOT EXISTS search_fts_delete AFTER DELETE ON search_document BEGIN
               INSERT INTO search_fts (search_fts, rowid, title, body) VALUES ('delete', OLD.id, OLD.title, OLD.body); END""",
        """CREATE TRIGGER IF NOT EXISTS search_fts_update AFTER UPDATE ON search_document BEGIN
               INSERT INTO search_fts (search_fts, rowid, title, body) VALUES ('delete', OLD.id, OLD.title, OLD.body);
               INSERT INTO search_fts (rowid, title, body) VALUES (NEW.id, NEW.title, NEW.body); END""",
    ]
    for s in SOURCES:
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS search_{s.kind}_insert AFTER INSERT ON {s.table} BEGIN {_upsert(d, s)}; END",
            f"""CREATE TRIGGER IF NOT EXISTS search_{s.kind}_update AFTER UPDATE OF {", ".join(s.columns)} ON {s.table}
                BEGIN UPDATE search_document SET title = {s.title(d, 'NEW')}, body = {s.body(d, 'NEW')}
                WHERE kind = '{s.kind}' AND ref = NEW.id; END""",
            f"""CREATE TRIGGER IF NOT EXISTS search_{s.kind}_delete AFTER DELETE ON {s.table}
                BEGIN DELETE FROM search_document WHERE kind = '{s.kind}' AND ref = OLD.id; END""",
        ]
    statements += [
        f"CREATE TRIGGER IF NOT EXISTS search_outcome_insert AFTER INSERT ON agenda_slot BEGIN {_refresh_item(d, 'NEW.item')}; END",
        f"CREATE TRIGGER IF NOT EXISTS search_outcome_update AFTER UPDATE OF note ON agenda_slot BEGIN {_refresh_item(d, 'NEW.item')}; END",
        f"CREATE TRIGGER IF NOT EXISTS search_outcome_delete AFTER DELETE ON agenda_slot BEGIN {_refresh_item(d, 'OLD.item')}; END",
    ]
    return statements + _backfill(d)


def postgres_statements(trgm_schema: str) -> list[str]:
    d = Dialect(postgres=True)
    ops = f'"{trgm_schema}".gin_trgm_ops'
    statements = [
        """CREATE TABLE IF NOT EXISTS search_document (
               id SERIAL PRIMARY KEY, kind VARCHAR(16) NOT NULL, ref INTEGER NOT NULL,
               title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '', UNIQUE (kind, ref))""",
        f"CREATE INDEX IF NOT EXISTS search_document_title_trgm ON search_document USING gin (title {ops})",
        f"CREATE INDEX IF NOT EXISTS search_document_body_trgm ON search_document USING gin (body {ops})",
    ]
    for s in SOURCES:
        statements += [
            f"""CREATE OR REPLACE FUNCTION search_{s.kind}_sync() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF TG_OP = 'DELETE' THEN
                    DELETE FROM search_document WHERE kind = '{s.kind}' AND ref = OLD.id;
                    RETURN OLD;
                  END IF;
                  {_upsert(d, s)};
                  RETURN NEW;
                END $$""",
            f"DROP TRIGGER IF EXISTS search_{s.kind}_sync ON {s.table}",
            f"""CREATE TRIGGER search_{s.kind}_sync AFTER INSERT OR DELETE OR UPDATE OF {", ".join(s.columns)}
                ON {s.table} FOR EACH ROW EXECUTE FUNCTION search_{s.kind}_sync()""",
        ]
    statements += [
        f"""CREATE OR REPLACE FUNCTION search_outcome_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE target integer;
            BEGIN
              IF TG_OP = 'DELETE' THEN target := OLD.item; ELSE target := NEW.item; END IF;
              {_refresh_item(d, 'target')};
              RETURN NULL;
            END $$""",
        "DROP TRIGGER IF EXISTS search_outcome_sync ON agenda_slot",
        """CREATE TRIGGER search_outcome_sync AFTER INSERT OR DELETE OR UPDATE OF note ON agenda_slot
           FOR EACH ROW EXECUTE FUNCTION search_outcome_sync()""",
    ]
    return statements + _backfill(d)


def _backfill(d: Dialect) -> list[str]:
    return [f"""INSERT INTO search_document (kind, ref, title, body)
                SELECT '{s.kind}', src.id, {s.title(d, 'src')}, {s.body(d, 'src')} FROM {s.table} src
                WHERE true ON CONFLICT (kind, ref) DO NOTHING""" for s in SOURCES]


def drop_statements(postgres: bool) -> list[str]:
    if postgres:
        return [*(f"DROP TRIGGER IF EXISTS search_{s.kind}_sync ON {s.table}" for s in SOURCES),
                "DROP TRIGGER IF EXISTS search_outcome_sync ON agenda_slot",
                *(f"DROP FUNCTION IF EXISTS search_{s.kind}_sync()" for s in SOURCES),
                "DROP FUNCTION IF EXISTS search_outcome_sync()",
                "DROP TABLE IF EXISTS search_document"]
    names = [f"search_{s.kind}_{op}" for s in SOURCES for op in ("insert", "update", "delete")]
    names += [f"search_outcome_{op}" for op in ("insert", "update", "delete")]
    return [*(f"DROP TRIGGER IF EXISTS {name}" for name in names), "DROP TABLE IF EXISTS search_fts",
            "DROP TABLE IF EXISTS search_document"]


async def _trgm_schema(engine) -> str:
    """Where pg_trgm is, installing it first (in public where allowed, else the current schema)."""
    found = await engine.run_ddl("""SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                                    WHERE e.extname = 'pg_trgm'""")
    if found:
        return str(found[0]["schema"])
    rows = await engine.run_ddl("""SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public')
                                               AND has_schema_privilege('public', 'CREATE')
                                          THEN 'public' ELSE current_schema() END AS schema""")
    schema = str(rows[0]["schema"])
    await engine.run_ddl(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{schema}"')
    return schema


async def forwards():
    from piccolo.engine.finder import engine_finder
    from piccolo.engine.postgres import PostgresEngine

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            statements = postgres_statements(await _trgm_schema(engine))
        else:
            statements = sqlite_statements()
        for statement in statements:
            await engine.run_ddl(statement)

    async def drop():
        engine = engine_finder()
        for statement in drop_statements(isinstance(engine, PostgresEngine)):
            await engine.run_ddl(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
