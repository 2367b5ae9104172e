"""What the visibility rules of the domains share.

Each entity has one rule saying which of its rows an actor may see: meetings.visibility
.visible_meetings, agenda.visibility.visible_items, tasks.visibility.visible_tasks and
visible_resolutions, minutes.visibility.visible_minutes. A rule is a Piccolo where-clause on the
entity's own table (values bound, no SQL assembled from strings), and it serves both sides:

- a lookup of one record adds it to the id (`visible_row`): out of scope answers 404 like missing;
- a list made with the ORM adds it to `.where()`;
- a list in SQL reads the table through it (`scoped`: `(SELECT * FROM "meeting" WHERE <rule>)`,
  which SQLite and PostgreSQL both flatten into the outer query, so indexes still serve it).
"""

from __future__ import annotations

from typing import Any

from piccolo.columns.combination import And, Or, Where, WhereRaw
from piccolo.querystring import QueryString
from piccolo.table import Table

from conference.errors import NotFound
from conference.sqlcompile import SQL, RawWhere

Condition = Where | And | Or | WhereRaw

# Every row (an admin's scope). A where-clause, so callers never need a "no condition" case.
EVERY_ROW = WhereRaw("1 = 1")
NO_ROW = WhereRaw("1 = 0")


def conference_in(table: type[Table], visible: set[int]) -> WhereRaw:
    """`table.conference.is_in(sorted(visible) or [0])`, the rule of the roles that see records by
    conference, as the same SQL text and values written directly: Piccolo builds a condition
    object, a value check and a SQL fragment for each id on every request (~50 µs of the home
    page). tests/test_workbench checks the text against Piccolo's on both databases."""
    found = sorted(visible) or [0]
    placeholders = ", ".join(["{}"] * len(found))
    return RawWhere(f'{table._meta.get_formatted_tablename()}."conference" IN ({placeholders})', *found)


def scoped(table: type[Table], rule: Condition) -> QueryString:
    """The rows of `table` that `rule` admits, as a derived table for SQL: `FROM {} m`."""
    return SQL("(SELECT * FROM {} WHERE {})", SQL(table._meta.get_formatted_tablename()), rule.querystring)


async def visible_row(table: type[Table], record_id: int, rule: Condition, not_found: str) -> dict[str, Any]:
    """The record with that id if `rule` admits it; else NotFound(not_found), as for a missing id."""
    row: dict[str, Any] | None = await table.select().where((table._meta.primary_key == record_id) & rule).first()
    if row is None:
        raise NotFound(not_found)
    return row
