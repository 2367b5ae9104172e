"""Search index, second form (measured with tests.bench.search on 50,000 items): the first form
(2026-12-04T02:00) read every matching document row to find its record, and scanned every text
for a two-character term (坠落), too slow for the 50 ms goal. Now:

- a document's id is its record's id * 8 + a code for its kind (1 item, 2 resolution, 3 report,
  4 minutes, 5 meeting), so the index alone names the records that match: no row is read until
  the few shown;
- SQLite gets a second FTS5 index of character pairs (`search_bigram`, contentless, unicode61
  tokens): each text is indexed as its overlapping pairs ("行人坠落" -> 行人 人坠 坠落), so a
  two-character term is one token lookup. The pairs are made inside the triggers with a table of
  positions (`search_position`, 1..SPAN), since SQLite allows no WITH clause in a trigger; a text
  longer than SPAN characters has its pairs indexed up to there (two-character terms further in
  are still found by the scan the search falls back to for single characters).
- PostgreSQL: the same ids; pg_trgm GIN indexes as before (a two-character ILIKE scans there).

Everything of the first form is dropped and built again from the source tables (the index is
derived data). backwards() goes back to the first form.
"""

# The SQL is built from the fixed names below, never from data.
# ruff: noqa: S608

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T02:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search_document ids from record id and kind; SQLite character-pair index for two-character terms"
FIRST_FORM = "conference_2026_12_04t02_00_00_000000"
SPAN = 30_000  # characters of a text whose pairs are indexed (minutes run to about 20,000)


@dataclass(frozen=True)
class Dialect:
    postgres: bool

    @property
    def newline(self) -> str:
        return "chr(10)" if self.postgres else "char(10)"

    def join(self, expression: str) -> str:
        return f"string_agg({expression}, chr(10))" if self.postgres else f"group_concat({expression}, char(10))"

    def json_values(self, expression: str) -> str:
        if self.postgres:
            return f"(SELECT string_agg(value, chr(10)) FROM json_each_text(({expression})::json) WHERE value <> '')"
        return f"(SELECT group_concat(value, char(10)) FROM json_each({expression}) WHERE value <> '')"


@dataclass(frozen=True)
class Source:
    kind: str
    code: int
    table: str
    columns: tuple[str, ...]
    title: Callable[[Dialect, str], str]
    body: Callable[[Dialect, str], str]


def _item_body(d: Dialect, row: str) -> str:
    notes = f"(SELECT {d.join('s.note')} FROM agenda_slot s WHERE s.item = {row}.id AND s.note <> '')"
    return f"{row}.description || COALESCE({d.newline} || {notes}, '')"


SOURCES = (
    Source("item", 1, "agenda_item", ("title", "description"), lambda d, r: f"{r}.title", _item_body),
    Source("resolution", 2, "resolution", ("text", "note"), lambda d, r: "''",
           lambda d, r: f"{r}.text || CASE WHEN {r}.note <> '' THEN {d.newline} || {r}.note ELSE '' END"),
    Source("report", 3, "task_report", ("text",), lambda d, r: "''", lambda d, r: f"{r}.text"),
    Source("minutes", 4, "minutes_version", ("sections",), lambda d, r: "''",
           lambda d, r: f"COALESCE({d.json_values(f'{r}.sections')}, '')"),
    Source("meeting", 5, "meeting", ("title", "location"), lambda d, r: f"{r}.title", lambda d, r: f"{r}.location"),
)
ITEM = SOURCES[0]


def _doc_id(s: Source, row: str) -> str:
    return f"{row}.id * 8 + {s.code}"


def _upsert(d: Dialect, s: Source) -> str:
    return (f"INSERT INTO search_document (id, kind, ref, title, body) VALUES ({_doc_id(s, 'NEW')}, '{s.kind}', NEW.id, "
            f"{s.title(d, 'NEW')}, {s.body(d, 'NEW')}) "
            f"ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body")


def _refresh_item(d: Dialect, item: str) -> str:
    return (f"UPDATE search_document SET body = (SELECT {ITEM.body(d, 'src')} FROM agenda_item src WHERE src.id = {item}) "
            f"WHERE id = {item} * 8 + {ITEM.code}")


def _pairs(text: str) -> str:
    """SQLite: the overlapping character pairs of `text`, separated by spaces."""
    return (f"COALESCE((SELECT group_concat(substr({text}, p.i, 2), ' ') FROM search_position p "
            f"WHERE p.i < length({text})), '')")


def _source_triggers_sqlite(d: Dialect) -> list[str]:
    statements = []
    for s in SOURCES:
        statements += [
            f"CREATE TRIGGER search_{s.kind}_insert AFTER INSERT ON {s.table} BEGIN {_upsert(d, s)}; END",
            f"""CREATE TRIGGER search_{s.kind}_update AFTER UPDATE OF {", ".join(s.columns)} ON {s.table}
                BEGIN UPDATE search_document SET title = {s.title(d, 'NEW')}, body = {s.body(d, 'NEW')}
                WHERE id = {_doc_id(s, 'NEW')}; END""",
            f"""CREATE TRIGGER search_{s.kind}_delete AFTER DELETE ON {s.table}
                BEGIN DELETE FROM search_document WHERE id = {_doc_id(s, 'OLD')}; END""",
        ]
    statements += [
        f"CREATE TRIGGER search_outcome_insert AFTER INSERT ON agenda_slot BEGIN {_refresh_item(d, 'NEW.item')}; END",
        f"CREATE TRIGGER search_outcome_update AFTER UPDATE OF note ON agenda_slot BEGIN {_refresh_item(d, 'NEW.item')}; END",
        f"CREATE TRIGGER search_outcome_delete AFTER DELETE ON agenda_slot BEGIN {_refresh_item(d, 'OLD.item')}; END",
    ]
    return statements


def sqlite_statements() -> list[str]:
    d = Dialect(postgres=False)
    add_pairs = "INSERT INTO search_bigram (rowid, title, body) VALUES (NEW.id, {t}, {b})".format(
        t=_pairs("lower(NEW.title)"), b=_pairs("lower(NEW.body)"))
    drop_pairs = "INSERT INTO search_bigram (search_bigram, rowid, title, body) VALUES ('delete', OLD.id, {t}, {b})".format(
        t=_pairs("lower(OLD.title)"), b=_pairs("lower(OLD.body)"))
    return [
        """CREATE TABLE search_document (
               id INTEGER PRIMARY KEY, kind VARCHAR(16) NOT NULL, ref INTEGER NOT NULL,
               title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '')""",
        "CREATE TABLE search_position (i INTEGER PRIMARY KEY)",
        f"""INSERT INTO search_position (i) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SPAN})
            SELECT i FROM n""",
        """CREATE VIRTUAL TABLE search_fts USING fts5(
               title, body, content='search_document', content_rowid='id', tokenize='trigram')""",
        """CREATE VIRTUAL TABLE search_bigram USING fts5(
               title, body, content='', tokenize='unicode61 remove_diacritics 0')""",
        f"""CREATE TRIGGER search_document_insert AFTER INSERT ON search_document BEGIN
               INSERT INTO search_fts (rowid, title, body) VALUES (NEW.id, NEW.title, NEW.body); {add_pairs}; END""",
        f"""CREATE TRIGGER search_document_delete AFTER DELETE ON search_document BEGIN
               INSERT INTO search_fts (search_fts, rowid, title, body) VALUES ('delete', OLD.id, OLD.title, OLD.body);
               {drop_pairs}; END""",
        f"""CREATE TRIGGER search_document_update AFTER UPDATE ON search_document BEGIN
               INSERT INTO search_fts (search_fts, rowid, title, body) VALUES ('delete', OLD.id, OLD.title, OLD.body);
               {drop_pairs};
               INSERT INTO search_fts (rowid, title, body) VALUES (NEW.id, NEW.title, NEW.body); {add_pairs}; END""",
        *_source_triggers_sqlite(d),
        *_backfill(d),
    ]


def postgres_statements(trgm_schema: str) -> list[str]:
    d = Dialect(postgres=True)
    ops = f'"{trgm_schema}".gin_trgm_ops'
    statements = [
        """CREATE TABLE search_document (
               id BIGINT PRIMARY KEY, kind VARCHAR(16) NOT NULL, ref INTEGER NOT NULL,
               title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '')""",
        f"CREATE INDEX search_document_title_trgm ON search_document USING gin (title {ops})",
        f"CREATE INDEX search_document_body_trgm ON search_document USING gin (body {ops})",
    ]
    for s in SOURCES:
        statements += [
            f"""CREATE OR REPLACE FUNCTION search_{s.kind}_sync() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF TG_OP = 'DELETE' THEN
                    DELETE FROM search_document WHERE id = {_doc_id(s, 'OLD')};
                    RETURN OLD;
                  END IF;
                  {_upsert(d, s)};
                  RETURN NEW;
                END $$""",
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
        """CREATE TRIGGER search_outcome_sync AFTER INSERT OR DELETE OR UPDATE OF note ON agenda_slot
           FOR EACH ROW EXECUTE FUNCTION search_outcome_sync()""",
    ]
    return statements + _backfill(d)


def _backfill(d: Dialect) -> list[str]:
    return [f"""INSERT INTO search_document (id, kind, ref, title, body)
                SELECT {_doc_id(s, 'src')}, '{s.kind}', src.id, {s.title(d, 'src')}, {s.body(d, 'src')} FROM {s.table} src"""
            for s in SOURCES]


def drop_statements(postgres: bool) -> list[str]:
    """Drops this form and the first one alike (the same names)."""
    if postgres:
        return [*(f"DROP TRIGGER IF EXISTS search_{s.kind}_sync ON {s.table}" for s in SOURCES),
                "DROP TRIGGER IF EXISTS search_outcome_sync ON agenda_slot",
                *(f"DROP FUNCTION IF EXISTS search_{s.kind}_sync()" for s in SOURCES),
                "DROP FUNCTION IF EXISTS search_outcome_sync()",
                "DROP TABLE IF EXISTS search_document"]
    names = [f"search_{s.kind}_{op}" for s in SOURCES for op in ("insert", "update", "delete")]
    names += [f"search_outcome_{op}" for op in ("insert", "update", "delete")]
    names += [f"search_fts_{op}" for op in ("insert", "update", "delete")]
    names += [f"search_document_{op}" for op in ("insert", "update", "delete")]
    return [*(f"DROP TRIGGER IF EXISTS {name}" for name in names), "DROP TABLE IF EXISTS search_fts",
            "DROP TABLE IF EXISTS search_bigram", "DROP TABLE IF EXISTS search_position",
            "DROP TABLE IF EXISTS search_document"]


def _first_form() -> ModuleType:
    """The first form's migration, loaded from its file (migrations/ is no package)."""
    spec = importlib.util.spec_from_file_location(FIRST_FORM, Path(__file__).with_name(f"{FIRST_FORM}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def forwards():
    from piccolo.engine.finder import engine_finder
    from piccolo.engine.postgres import PostgresEngine

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        postgres = isinstance(engine, PostgresEngine)
        statements = drop_statements(postgres)
        if postgres:
            statements += postgres_statements(await _first_form()._trgm_schema(engine))
        else:
            statements += sqlite_statements()
        for statement in statements:
            await engine.run_ddl(statement)

    async def back():
        engine = engine_finder()
        first = _first_form()
        postgres = isinstance(engine, PostgresEngine)
        statements = drop_statements(postgres)
        statements += first.postgres_statements(await first._trgm_schema(engine)) if postgres else first.sqlite_statements()
        for statement in statements:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(back)
    return manager
