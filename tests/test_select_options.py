"""conference.web.templating.select_options: the <option> elements of a list filter, made once per
list and choice, are the HTML the template loop they replace writes, for every choice."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import Environment
from litestar.plugins.jinja import JinjaTemplateEngine

from conference.settings import ROOT
from conference.web.templating import configure_environment

LOOP = ('{% for k, l in options %}<option value="{{ k }}"{% if selected == k %} selected{% endif %}>{{ l }}</option>'
        '{% endfor %}')
CALL = "{{ select_options(options, selected) }}"

OPTIONS: list[Any] = [
    {"open": "办理中", "closed": "已办结", "<b>": 'a "quoted" & <tagged> label'},
    [("1", "一"), ("2", "二"), ("10", "十")],
    [["3", "列表里的一对"], ["4", "&amp;"]],  # pairs as lists (JSON-like)
    [(1, "整数键"), (2, "二")],
    [([1], "unhashable key")],
    [],
]


@pytest.fixture(scope="module")
def env() -> Environment:
    engine = JinjaTemplateEngine(directory=ROOT / "templates")
    configure_environment(engine, {})
    return engine.engine


@pytest.mark.parametrize("options", OPTIONS)
def test_the_same_html_as_the_loop(env: Environment, options: Any) -> None:
    pairs = list(options.items()) if isinstance(options, dict) else [tuple(p) for p in options]
    loop, call = env.from_string(LOOP), env.from_string(CALL)
    choices = [*(str(k) for k, _l in pairs), *(k for k, _l in pairs), "", "none-of-them", "<b>", None, 1]
    for selected in choices:
        expected = loop.render(options=pairs, selected=selected)
        assert call.render(options=options, selected=selected) == expected, selected
    # an undefined filter (no such key in the request) selects none, as in the loop
    assert call.render(options=options) == loop.render(options=pairs)
    # twice the same answer (the second from the kept elements)
    assert call.render(options=options, selected=choices[0] if choices else "") == \
        call.render(options=options, selected=choices[0] if choices else "")


def test_one_choice_is_marked(env: Environment) -> None:
    html = env.from_string(CALL).render(options={"a": "甲", "b": "乙"}, selected="b")
    assert html == '<option value="a">甲</option><option value="b" selected>乙</option>'
