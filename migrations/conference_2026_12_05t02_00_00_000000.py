"""Search finds an item by the number of the ticket it came from (issue 15 item 2): an item's search
document gets its `external_ref` (12345 hotline or grid platform ticket number, 2026-12-04T14:00)
as the last line of its text, after the description and the meetings' research results.

Only the item's triggers change (the index's form is the one of 2026-12-04T02:10, whose SOURCES
and helpers are reused): they now also fire when external_ref changes, and the refresh after an
agenda_slot change writes the same text. The documents of items that carry a reference are
written again; on SQLite the search_document triggers keep search_fts (trigrams) and search_bigram
(character pairs) in step. backwards() restores the earlier triggers and texts.
"""

# The SQL is built from the fixed names below, never from data.
# ruff: noqa: S608

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search: an item's document ends with its external_ref (ticket number), kept by the item triggers"
INDEX_FORM = "conference_2026_12_04t02_10_00_000000"


def _index_form() -> ModuleType:
    """The index's migration (2026-12-04T02:10), loaded from its file (migrations/ is no package)."""
    spec = importlib.util.spec_from_file_location(INDEX_FORM, Path(__file__).with_name(f"{INDEX_FORM}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def item_source(form: ModuleType, with_ref: bool) -> Any:
    """The item's Source: the earlier one, or the one whose text ends with the ticket number."""
    if not with_ref:
        return form.ITEM
    old = form.ITEM

    def body(d: Any, row: str) -> str:
        ref = f"CASE WHEN {row}.external_ref <> '' THEN {d.newline} || {row}.external_ref ELSE '' END"
        return f"{old.body(d, row)} || {ref}"

    return form.Source(old.kind, old.code, old.table, (*old.columns, "external_ref"), old.title, body)


def _refresh(form: ModuleType, d: Any, s: Any, item: str) -> str:
    return (f"UPDATE search_document SET body = (SELECT {s.body(d, 'src')} FROM agenda_item src WHERE src.id = {item}) "
            f"WHERE id = {item} * 8 + {s.code}")


def sqlite_statements(with_ref: bool) -> list[str]:
    form = _index_form()
    d, s = form.Dialect(postgres=False), item_source(form, with_ref)
    drops = [f"DROP TRIGGER IF EXISTS search_{kind}_{op}" for kind in ("item", "outcome")
             for op in ("insert", "update", "delete")]
    return [
        *drops,
        f"CREATE TRIGGER search_item_insert AFTER INSERT ON agenda_item BEGIN {form._upsert(d, s)}; END",
        f"""CREATE TRIGGER search_item_update AFTER UPDATE OF {", ".join(s.columns)} ON agenda_item
            BEGIN UPDATE search_document SET title = {s.title(d, 'NEW')}, body = {s.body(d, 'NEW')}
            WHERE id = {form._doc_id(s, 'NEW')}; END""",
        f"""CREATE TRIGGER search_item_delete AFTER DELETE ON agenda_item
            BEGIN DELETE FROM search_document WHERE id = {form._doc_id(s, 'OLD')}; END""",
        f"CREATE TRIGGER search_outcome_insert AFTER INSERT ON agenda_slot BEGIN {_refresh(form, d, s, 'NEW.item')}; END",
        f"CREATE TRIGGER search_outcome_update AFTER UPDATE OF note ON agenda_slot BEGIN {_refresh(form, d, s, 'NEW.item')}; END",
        f"CREATE TRIGGER search_outcome_delete AFTER DELETE ON agenda_slot BEGIN {_refresh(form, d, s, 'OLD.item')}; END",
        _reindex(d, s),
    ]


def postgres_statements(with_ref: bool) -> list[str]:
    form = _index_form()
    d, s = form.Dialect(postgres=True), item_source(form, with_ref)
    return [
        "DROP TRIGGER IF EXISTS search_item_sync ON agenda_item",
        f"""CREATE OR REPLACE FUNCTION search_item_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                DELETE FROM search_document WHERE id = {form._doc_id(s, 'OLD')};
                RETURN OLD;
              END IF;
              {form._upsert(d, s)};
              RETURN NEW;
            END $$""",
        f"""CREATE TRIGGER search_item_sync AFTER INSERT OR DELETE OR UPDATE OF {", ".join(s.columns)}
            ON agenda_item FOR EACH ROW EXECUTE FUNCTION search_item_sync()""",
        f"""CREATE OR REPLACE FUNCTION search_outcome_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE target integer;
            BEGIN
              IF TG_OP = 'DELETE' THEN target := OLD.item; ELSE target := NEW.item; END IF;
              {_refresh(form, d, s, 'target')};
              RETURN NULL;
            END $$""",
        _reindex(d, s),
    ]


def _reindex(d: Any, s: Any) -> str:
    """The documents of the items that carry a ticket number, written again with the current text."""
    return (f"UPDATE search_document SET body = (SELECT {s.body(d, 'src')} FROM agenda_item src "
            f"WHERE src.id = search_document.ref) WHERE kind = 'item' AND ref IN "
            f"(SELECT id FROM agenda_item WHERE external_ref <> '')")


async def forwards():
    from piccolo.engine.finder import engine_finder
    from piccolo.engine.postgres import PostgresEngine

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def run(with_ref: bool) -> None:
        engine = engine_finder()
        postgres = isinstance(engine, PostgresEngine)
        for statement in postgres_statements(with_ref) if postgres else sqlite_statements(with_ref):
            await engine.run_ddl(statement)

    async def create():
        await run(True)

    async def back():
        await run(False)

    manager.add_raw(create)
    manager.add_raw_backwards(back)
    return manager
