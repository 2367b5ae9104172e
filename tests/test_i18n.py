"""All UI text goes through gettext: no Chinese outside of `_()` in templates, Babel extracts the
strings of Python code and templates, and the English catalog turns the log-in page into English
with no change to code or templates (the app itself stays zh_CN, whose source strings need no catalog)."""

from __future__ import annotations

import io
import re
import string
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from bs4 import BeautifulSoup
from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
LOCALE = ROOT / "conference" / "locale"
EN_PO = LOCALE / "en" / "LC_MESSAGES" / "messages.po"
CJK = re.compile("[\u4e00-\u9fff]")
# What may stay Chinese-looking in an English page: nothing from the CJK ideographs, CJK punctuation
# (、。「」…) or full-width forms (，：（）).
CJK_ANY = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
GETTEXT_FUNCTIONS = {"_", "gettext", "ngettext", "pgettext", "npgettext"}

TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.html"))


def _env() -> Environment:
    return Environment(autoescape=True, extensions=["jinja2.ext.i18n"])


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_templates_are_found() -> None:
    names = {_rel(p) for p in TEMPLATE_FILES}
    assert {"templates/base.html", "templates/accounts/login.html", "templates/registry/list.html"} <= names


def _chinese_data(env: Environment, source: str) -> list[tuple[int, str]]:
    """Template text (lexer `data` tokens) containing Chinese, except the body of {% trans %} blocks,
    which the i18n extension hands to gettext."""
    found = []
    in_trans = False
    previous = ""
    for lineno, token, value in env.lex(source):
        if token == "name" and previous == "block_begin" and value in ("trans", "endtrans"):
            in_trans = value == "trans"
        elif token == "data" and not in_trans and CJK.search(value):
            found.append((lineno, value))
        if token != "whitespace":
            previous = token
    return found


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_rel)
def test_template_text_outside_tags_has_no_chinese(path: Path) -> None:
    """Literal text between tags must be `{{ _("...") }}`, or translators never see it."""
    env = _env()
    found = _chinese_data(env, path.read_text(encoding="utf-8"))
    offenders = [f"{_rel(path)}:{lineno}: {value.strip()!r}" for lineno, value in found]
    assert not offenders, "Chinese text outside of {{ _(\"...\") }}:\n" + "\n".join(offenders)


def _untranslated_constants(template: nodes.Template) -> list[tuple[int, str]]:
    """Chinese string literals inside {{ }}/{% %} that are not an argument of _()/gettext()."""
    translated: set[int] = set()
    for call in template.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in GETTEXT_FUNCTIONS:
            translated.update(id(arg) for arg in call.args)
    return [
        (const.lineno, const.value)
        for const in template.find_all(nodes.Const)
        if isinstance(const.value, str) and CJK.search(const.value) and id(const) not in translated
    ]


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_rel)
def test_template_string_literals_with_chinese_are_translated(path: Path) -> None:
    """`{{ "中文" }}` or `{{ x or "中文" }}` would escape extraction just the same."""
    env = _env()
    tree = env.parse(path.read_text(encoding="utf-8"), name=path.name)
    offenders = [f"{_rel(path)}:{lineno}: {value!r}" for lineno, value in _untranslated_constants(tree)]
    assert not offenders, "Chinese string literals not passed to _():\n" + "\n".join(offenders)


def test_the_checks_catch_untranslated_text() -> None:
    env = _env()
    source = '<h1>{{ _("登录") }}</h1><p>请登录</p>{{ name or "无名" }}{% trans %}已翻译{% endtrans %}'
    assert [v for _n, v in _chinese_data(env, source)] == ["</h1><p>请登录</p>"]
    assert [v for _n, v in _untranslated_constants(env.parse(source))] == ["无名"]


# ------------------------------------------------------------------ extraction


def _pybabel() -> str:
    path = Path(sys.executable).parent / "pybabel"
    assert path.exists(), f"pybabel not found beside {sys.executable}"
    return str(path)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """`make i18n`, written to a temp file instead of conference/locale/messages.pot."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [_pybabel(), "extract", "-F", "babel.cfg", "-o", str(pot), "--no-location", "--sort-output", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "templates/accounts/login.html" in result.stderr + result.stdout  # the Jinja extractor ran
    with pot.open("rb") as f:
        return read_po(f)


def test_extraction_collects_python_and_template_strings(extracted: Catalog) -> None:
    ids = {m.id for m in extracted if m.id}
    assert len(ids) > 100
    assert {"登录", "成员单位", "用户名", "密码", "联席会议议事督办系统"} <= ids
    assert "请先登录。" in ids  # only in Python (conference/web/auth.py, errors.py)
    assert "跳到正文" in ids  # only in a template (base.html)
    assert "新建%(noun)s" in ids  # a template string with a placeholder
    assert "请填写{label}。" in ids  # a Python string formatted after translation


def test_committed_template_holds_the_ui_strings() -> None:
    """conference/locale/messages.pot is what `make i18n` writes (rerun it, then
    `pybabel update -i conference/locale/messages.pot -d conference/locale`, after changing UI text)."""
    with (LOCALE / "messages.pot").open("rb") as f:
        committed = read_po(f)
    assert {"登录", "用户名", "密码", "请先登录。", "成员单位"} <= {m.id for m in committed if m.id}


# ------------------------------------------------------------------ the English catalog


@pytest.fixture(scope="module")
def english_catalog() -> Catalog:
    with EN_PO.open("rb") as f:
        return read_po(f, locale="en")


@pytest.fixture(scope="module")
def english(english_catalog: Catalog) -> Translations:
    """The .po compiled in memory (*.mo files are not committed)."""
    buffer = io.BytesIO()
    write_mo(buffer, english_catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


def _fields(text: str, brace: bool) -> set[str]:
    if brace:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}
    return set(re.findall(r"%\((\w+)\)s", text))


def test_english_catalog_is_valid(english_catalog: Catalog) -> None:
    assert english_catalog.locale is not None and str(english_catalog.locale) == "en"
    problems = [f"{m.id!r}: {errors}" for m, errors in english_catalog.check()]
    translated = [m for m in english_catalog if m.id and m.string]
    for m in translated:
        assert isinstance(m.id, str) and isinstance(m.string, str)
        if "python-brace-format" in m.flags or "python-format" in m.flags:
            brace = "python-brace-format" in m.flags
            if _fields(m.id, brace) != _fields(m.string, brace):
                problems.append(f"{m.id!r} -> {m.string!r}: placeholders differ")
        if "fuzzy" in m.flags:
            problems.append(f"{m.id!r} is fuzzy")
        if CJK_ANY.search(m.string):
            problems.append(f"{m.id!r} -> {m.string!r}: not English")
    assert not problems, "\n".join(problems)


def test_english_translations_of_the_login_page(english: Translations) -> None:
    expected = {
        "登录": "Log in",
        "用户名": "Username",
        "密码": "Password",
        "联席会议议事督办系统": "Joint Conference Tracking System",
        "城市基层党建联席会议议事督办系统": "Urban Community Party Building Joint Conference Tracking System",
        "跳到正文": "Skip to content",
        "联席会议办公室": "Joint Conference Office",
        "提交的内容有误，请按提示修改。": "There is a problem with what you entered; please correct it as shown.",
        "请先登录。": "Please log in first.",
    }
    assert {source: english.gettext(source) for source in expected} == expected


def english_environment(english: Translations) -> Environment:
    """The app's Jinja environment (conference.web.templating.configure_environment on Litestar's
    engine, as template_config() builds it), with the English translations installed instead."""
    from litestar.plugins.jinja import JinjaTemplateEngine

    from conference.roles import ROLE_LABELS
    from conference.web.templating import configure_environment

    engine = JinjaTemplateEngine(directory=TEMPLATES)
    configure_environment(engine, {"ROLE_LABELS": ROLE_LABELS})
    env: Environment = engine.engine
    env.install_gettext_translations(english, newstyle=True)  # type: ignore[attr-defined]
    return env


def test_login_page_renders_in_english(english: Translations) -> None:
    env = english_environment(english)
    context: dict[str, Any] = {"form": {"next": "/"}, "errors": {}, "csrf_input": "", "actor": None}
    page = BeautifulSoup(env.get_template("accounts/login.html").render(**context), "html.parser")
    assert page.title is not None and page.title.get_text() == "Log in · Joint Conference Tracking System"
    assert page.find("h1").get_text() == "Log in"
    assert page.find("label", attrs={"for": "f-username"}).get_text() == "Username"
    assert page.find("label", attrs={"for": "f-password"}).get_text() == "Password"
    assert page.find("button", attrs={"type": "submit"}).get_text() == "Log in"
    assert page.find(class_="brand").get_text() == "Urban Community Party Building Joint Conference Tracking System"
    assert page.find(class_="skip").get_text() == "Skip to content"
    assert page.find("footer").get_text() == "Joint Conference Office"
    chinese = CJK_ANY.findall(page.get_text())
    assert not chinese, f"Chinese left in the English log-in page: {''.join(chinese)}\n{page.get_text()}"

    # With a mistake: the error summary heading is translated too (the messages come from Python).
    failed = {**context, "form": {"username": "office", "next": "/"}, "errors": {"password": english.gettext("请填写密码。")}}
    page = BeautifulSoup(env.get_template("accounts/login.html").render(**failed), "html.parser")
    summary = page.find(id="error-summary")
    assert summary.find("h2").get_text() == "There is a problem with what you entered; please correct it as shown."
    assert summary.find("a", href="#f-password").get_text() == "Enter your password."
    assert page.find(id="e-password").get_text() == "Enter your password."
    assert page.find(id="f-username")["value"] == "office"
    assert not CJK_ANY.search(page.get_text())


def test_navigation_renders_in_english(english: Translations) -> None:
    env = english_environment(english)
    actor = SimpleNamespace(role="admin", label="Admin", username="admin", unit_id=None, street_id=None)
    page = BeautifulSoup(env.get_template("workbench/home.html").render(actor=actor, cards=[], conferences=[], csrf_input=""),
                         "html.parser")
    links = {a.get_text() for a in page.find("nav").find_all("a")}
    assert {"Workbench", "Conferences", "Member units", "Streets", "Convenors", "Audit log", "Accounts"} <= links
    assert page.find("nav")["aria-label"] == "Main navigation"
    assert page.find(class_="greeting").get_text().startswith("Hello, Admin")
    assert page.find("button", class_="link").get_text() == "Log out"


def test_the_app_stays_chinese() -> None:
    """The English catalog changes nothing by default: zh_CN has no catalog, so source text is shown."""
    from conference import i18n

    assert i18n.DEFAULT_LOCALE == "zh_CN"
    assert not (LOCALE / "zh_CN").exists()
    assert i18n.gettext("登录") == "登录"
    assert i18n.gettext("请先登录。") == "请先登录。"
