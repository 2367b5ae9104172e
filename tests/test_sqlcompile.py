"""conference.sqlcompile: the SQL text and values Piccolo's QueryString.compile_string gives, for
both placeholder styles, on templates with nested fragments, literal braces, missing or extra
arguments, columns, long id lists and frozen statements (no database needed)."""

from __future__ import annotations

from typing import Any

import pytest
from piccolo.querystring import QueryString

from conference import db
from conference.registry.tables import Conference
from conference.sqlcompile import SQL, compile_query, compiled

ENGINES = ("sqlite", "postgres")


def statements() -> list[QueryString]:
    nested = QueryString("a {} b {} c", QueryString("n {} m", None), QueryString("{}", QueryString("{}", "deep")))
    return [
        QueryString(""), QueryString("SELECT 1"), QueryString("{}", 1), QueryString("{} {}", 1),
        QueryString("a {} b", 1, 2, 3),  # extra arguments: dropped, as Piccolo drops them
        QueryString("x {{ {} y }}", 5), QueryString("{{}} {}", QueryString("z {}", 7)),
        QueryString("{0} and {name} and {:x}", 1, 2, 3), nested,
        QueryString("{} = {}", Conference.id, 3), QueryString("SELECT {}", "it's {} {{"),
        db.ids(range(10)), db.ids(range(db.MANY_IDS + 1)), db.identifier('we{i}rd"name'),
        db.joined([QueryString("a = {}", 1), QueryString("b IN ({})", db.listed([2, 3])), nested], " AND "),
    ]


def same(a: tuple[str, list[Any]], b: tuple[str, list[Any]]) -> bool:
    return a[0] == b[0] and len(a[1]) == len(b[1]) and all(x is y for x, y in zip(a[1], b[1], strict=True))


@pytest.mark.parametrize("engine_type", ENGINES)
def test_the_same_sql_and_values_as_piccolo(engine_type: str) -> None:
    for query in statements():
        piccolo = query.compile_string(engine_type)
        assert same(compile_query(query, engine_type), piccolo), query.template
        assert same(compiled(query).compile_string(engine_type), piccolo), query.template
        assert same(SQL(query.template, *query.args).compile_string(engine_type), piccolo), query.template


def test_the_wrapper_is_the_query_for_the_engine() -> None:
    query = QueryString("SELECT {} FROM {}", 1, QueryString("conference WHERE id = {}", 2), query_type="select", table=Conference)
    wrapper = compiled(query)
    assert (wrapper.query_type, wrapper.table, str(wrapper), list(wrapper.columns)) == ("select", Conference, str(query), list(query.columns))
    for name in (*QueryString.__slots__, "_alias"):  # every attribute a QueryString has
        getattr(wrapper, name)
    assert compiled(wrapper) is wrapper


def test_a_frozen_statement_gives_its_frozen_result() -> None:
    frozen = QueryString("SELECT {}", 1)
    frozen.freeze("sqlite")
    assert compiled(frozen) is frozen
    assert compile_query(frozen, "postgres") == ("SELECT ?", [1]) == frozen.compile_string("postgres")


def test_a_malformed_template_fails_as_in_piccolo() -> None:
    with pytest.raises(ValueError) as piccolo:
        QueryString("SELECT {", 1).compile_string("sqlite")
    with pytest.raises(ValueError) as ours:
        compile_query(QueryString("SELECT {", 1), "sqlite")
    assert str(ours.value) == str(piccolo.value)


def test_sql_is_made_as_piccolo_makes_a_querystring() -> None:
    """SQL's shorter way to take its values: the same values (a Column made its name) and the same
    columns gathered (from Columns and from nested fragments, Piccolo's and ours)."""
    condition = (Conference.name == "x").querystring  # a Piccolo fragment that carries a column
    made = [("{} = {}", (Conference.id, 3)), ("a {} b {} c {}", (condition, SQL("n {}", Conference.level), None)),
            ("{} {}", (QueryString("{}", Conference.parent), SQL("{}", SQL("{}", "deep")))), ("{}", ([1, 2],))]
    for template, args in made:
        theirs, ours = QueryString(template, *args), SQL(template, *args)
        assert [c._meta.name for c in ours.columns] == [c._meta.name for c in theirs.columns], template
        for engine_type in ENGINES:
            assert ours.compile_string(engine_type) == theirs.compile_string(engine_type), template
