"""Jinja2 set-up (gettext, date filters) and the one `render` helper every page handler uses."""

from __future__ import annotations

import functools
import json
import re
import types
import urllib.parse
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, KeysView, Mapping, MutableMapping
from functools import partial
from mimetypes import guess_type
from pathlib import PurePath
from typing import Any

import jinja2
from jinja2 import Environment, Undefined, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, new_context
from jinja2.visitor import NodeTransformer
from litestar import MediaType, Request
from litestar.datastructures import Cookie
from litestar.handlers import HTTPRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup, _escape_inner, escape

from conference.i18n import translations
from conference.settings import ROOT, get_settings
from conference.timefmt import cn_date, cn_datetime, cn_month_day, cn_time, days_since

FLASH_COOKIE = "flash"


def configure_environment(engine: JinjaTemplateEngine, names: Mapping[str, Any]) -> None:
    env: Environment = engine.engine
    # Templates are part of the release: compiled once per process, never looked at again (Jinja's
    # auto_reload stats every template file a page uses, on every request). A changed template
    # shows after a restart.
    env.auto_reload = False
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = kept_gettext(translations().gettext)
    env.code_generator_class = TranslatingCodeGenerator
    env.make_globals = partial(live_globals, env)  # type: ignore[method-assign]
    env.template_class = FlatGlobalsTemplate
    env.context_class = QuickCallContext
    env.getattr = dict_first_getattr(env)  # type: ignore[method-assign,assignment]
    env.filters["cn_date"] = cn_date
    env.filters["cn_datetime"] = cn_datetime
    env.filters["cn_time"] = cn_time
    env.filters["cn_month_day"] = cn_month_day
    env.filters["days_since"] = days_since
    env.filters["json_text"] = json_text
    env.globals["main_nav"] = kept_fragment(env, "_nav.html")
    env.globals["select_options"] = select_options
    env.globals.update(names)


class LiveGlobals(ChainMap[str, Any]):
    """A template's globals as Jinja makes them (Environment.make_globals: its own globals over the
    environment's, a live view, so that later changes to the environment's globals show), with what
    Jinja asks of the whole map on every render done by merging the maps into a dict in C: the
    names of the context's globals (iter(), len()) for each template rendered and each `{% import %}`
    (a set difference with keys()). ChainMap answers these with a Python call per name (~10 µs a
    time for our 16 globals). The same names, order and values as ChainMap's, read when asked."""

    def flat(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for mapping in reversed(self.maps):  # ChainMap's order; the first map's value wins
            merged.update(mapping)
        return merged

    def __iter__(self) -> Iterator[str]:
        return iter(self.flat())

    def __len__(self) -> int:
        return len(self.flat())

    def keys(self) -> KeysView[str]:
        return self.flat().keys()


def live_globals(env: Environment, d: MutableMapping[str, Any] | None) -> LiveGlobals:
    return LiveGlobals({} if d is None else d, env.globals)


class FlatGlobalsTemplate(jinja2.Template):
    """Jinja's Template, whose new context (each render, import and include) copies the globals
    from a dict: Jinja's `dict(globals, **vars)` reads a ChainMap name by name in Python."""

    def new_context(self, vars: dict[str, Any] | None = None, shared: bool = False,
                    locals: Mapping[str, Any] | None = None) -> Context:
        found = self.globals
        return new_context(self.environment, self.name, self.blocks, vars, shared,
                           found.flat() if isinstance(found, LiveGlobals) else found, locals)


PLAIN_CALLABLES = frozenset({types.BuiltinFunctionType, types.FunctionType, types.MethodType})


class QuickCallContext(Context):
    """Jinja's Context, whose `call` (every function call in a template: `row.get(...)`, a URL
    helper) takes a shorter way for C functions and methods and for Python functions and bound
    methods. For those, `obj.__call__` is a method-wrapper, which never carries Jinja's pass-arg
    mark, so Jinja's first check is answered; the mark of the function itself (pass_context and its
    kind) is read once, and a callable without one is called as Jinja calls it (its loop and block
    variables dropped, a StopIteration made undefined). Anything else goes through Jinja's call."""

    def call(self, obj: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if type(obj) not in PLAIN_CALLABLES or getattr(obj, "jinja_pass_arg", None) is not None:
            return super().call(obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return obj(*args, **kwargs)
        except StopIteration:
            return self.environment.undefined("value was undefined because a callable raised a StopIteration exception")


GETTEXT_KEPT = 20_000  # distinct strings kept; templates hold a few hundred


def kept_gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    """Jinja's newstyle gettext (the translation, as Markup when autoescaping, then `% variables`),
    with the result of a call without variables kept per string: a page calls `_()` a hundred
    times or more, and the translations do not change while the process runs."""
    kept: dict[tuple[str, bool], str] = {}

    @pass_context
    def gettext(context: Context, string: str, /, **variables: Any) -> str:
        autoescape = bool(context.eval_ctx.autoescape)
        if not variables:
            found = kept.get((string, autoescape))
            if found is not None:
                return found
        text = translate(string)
        result: str = (Markup(text) if autoescape else text) % variables  # noqa: S704 - as Jinja: our own catalogue
        if not variables and len(kept) < GETTEXT_KEPT:
            kept[(string, autoescape)] = result
        return result

    gettext.translate = translate  # type: ignore[attr-defined]  # read by TranslatingCodeGenerator
    return gettext


DICT_ATTRIBUTES = frozenset(dir(dict))


def dict_first_getattr(env: Environment) -> Callable[[Any, str], Any]:
    """Jinja's `environment.getattr` (what `row.title` compiles to) without its cost for the rows
    of a list, which are plain dicts: Jinja tries the attribute first and, when the AttributeError
    comes, the key. A plain dict's attributes are those of the dict class, so for a name that is
    none of them the key is the answer Jinja would give (or undefined without it). Other objects:
    Jinja's steps, written here rather than called (one call less per look-up)."""

    def getattr_(obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return env.undefined(obj=obj, name=attribute)
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return env.undefined(obj=obj, name=attribute)

    return getattr_


FRAGMENTS_KEPT = 1000  # per fragment: roles x unread counts


def kept_fragment(env: Environment, name: str) -> Callable[[str, Any], Markup]:
    """The main navigation (templates/_nav.html) for a role and an unread count, rendered once per
    pair: it depends on nothing else, and every page shows it. Kept per compiled template, so an
    edited _nav.html (auto_reload) is rendered again, as the include it replaces."""
    kept: dict[tuple[Any, str, Any], Markup] = {}

    def fragment(role: str, unread: Any) -> Markup:
        template = env.get_template(name)
        key = (template, role, unread)
        found = kept.get(key)
        if found is None:
            if len(kept) >= FRAGMENTS_KEPT:
                kept.clear()
            found = kept[key] = Markup(template.render(actor={"role": role, "unread": unread}, unread=unread))  # noqa: S704 - our template's autoescaped output
        return found

    return fragment


def select_options(options: Mapping[Any, Any] | Iterable[tuple[Any, Any]], selected: Any) -> Markup:
    """The <option> elements of a filter: `<option value="k" selected>label</option>` for the pair
    whose key equals `selected` (an undefined filter selects none), as
    `{% for k, l in options %}<option value="{{ k }}"{% if selected == k %} selected{% endif %}>`
    writes them. Made once per list and choice: a filter of 73 actions was ~100 µs of every page."""
    pairs = tuple(options.items()) if isinstance(options, Mapping) else tuple((key, label) for key, label in options)
    if isinstance(selected, Undefined):
        selected = None
    try:
        return _option_elements(pairs, selected)
    except TypeError:  # an unhashable choice or option: made without keeping
        return _option_elements.__wrapped__(pairs, selected)


@functools.lru_cache(maxsize=1024)  # the key is the options themselves: never out of date
def _option_elements(pairs: tuple[tuple[Any, Any], ...], selected: Any) -> Markup:
    chosen = Markup(" selected")
    return Markup("").join([_OPTION % (key, chosen if key == selected else "", label) for key, label in pairs])


_OPTION = Markup('<option value="%s"%s>%s</option>')


GETTEXT_NAMES = ("_", "gettext")
NAMED_S_ONLY = re.compile(r"(?:[^%]|%%|%\([A-Za-z_][A-Za-z0-9_]*\)s)*")


class TranslatingCodeGenerator(CodeGenerator):
    """Translates `_("literal")` when a template is compiled rather than on every render: a list
    page calls `_()` a few hundred times, each a chain of three calls through the Jinja context.
    `_("text")` becomes the constant the call returned (Markup when autoescaping, after `% {}` as
    Jinja's newstyle gettext does), `_("text %(n)s", n=x)` becomes `Markup("text %(n)s") % {"n": x}`,
    so the output is the same. Only while the environment's gettext is kept_gettext's (another
    catalogue installed later, as in test_i18n, keeps the calls), and not in a template that binds
    `_` or `gettext` itself or changes autoescaping in a block."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        translate = getattr(self.environment.globals.get("gettext"), "translate", None)
        if translate is not None and _foldable(node):
            node = _Translator(translate, bool(nodes.EvalContext(self.environment, self.name).autoescape)).visit(node)
        super().visit_Template(node, frame)
        # Last in the module, so that every function of it prints through html_escape.
        self.writeline("from conference.web.templating import html_escape as escape")


_as_markup = str.__new__


def html_escape(value: Any) -> Markup:
    """markupsafe.escape, which every `{{ value }}` of an autoescaped template calls, with its two
    commonest cases shorter: a str is escaped and made Markup without Markup.__new__'s __html__
    check (str has none), and a Markup (a label, a translated text) is returned as it is, equal to
    the copy escape would make; an int's digits need no escaping. Anything else is escape's."""
    kind = type(value)
    if kind is str:
        return _as_markup(Markup, _escape_inner(value))
    if kind is Markup:
        return value
    if kind is int:
        return _as_markup(Markup, str(value))
    return escape(value)


def _foldable(template: nodes.Template) -> bool:
    if any(True for _node in template.find_all(nodes.EvalContextModifier)):
        return False
    if any(n.name in GETTEXT_NAMES and n.ctx != "load" for n in template.find_all(nodes.Name)):
        return False
    for found in template.find_all((nodes.FromImport, nodes.Import, nodes.Macro, nodes.CallBlock)):
        if isinstance(found, nodes.FromImport):
            bound = [name if isinstance(name, str) else name[1] for name in found.names]
        elif isinstance(found, nodes.Import):
            bound = [found.target]
        else:
            assert isinstance(found, nodes.Macro | nodes.CallBlock)
            bound = [arg.name for arg in found.args]
        if set(bound) & set(GETTEXT_NAMES):
            return False
    return True


class _Translator(NodeTransformer):
    def __init__(self, translate: Callable[[str], str], autoescape: bool) -> None:
        self.translate = translate
        self.autoescape = autoescape

    def visit_Call(self, call: nodes.Call) -> nodes.Node:
        node = self.generic_visit(call)
        if not isinstance(node, nodes.Call) or not (isinstance(node.node, nodes.Name) and node.node.name in GETTEXT_NAMES and len(node.args) == 1
                and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)
                and node.dyn_args is None and node.dyn_kwargs is None):
            return node
        text = self.translate(node.args[0].value)
        if node.kwargs:
            line = node.lineno
            if self.autoescape and NAMED_S_ONLY.fullmatch(text):
                # Markup(text) % {...} escapes each value through a helper object; for a pattern of
                # %(name)s and %% only, that is text % {name: escape(value)}, made Markup.
                escaped = nodes.Dict([nodes.Pair(nodes.Const(k.key), nodes.Filter(k.value, "e", [], [], None, None, lineno=line),
                                                 lineno=line) for k in node.kwargs], lineno=line)
                return nodes.MarkSafe(nodes.Mod(nodes.Const(text, lineno=line), escaped, lineno=line), lineno=line)
            pattern: nodes.Expr = nodes.Const(text, lineno=line)
            if self.autoescape:
                pattern = nodes.MarkSafe(pattern, lineno=line)
            variables = nodes.Dict([nodes.Pair(nodes.Const(k.key), k.value, lineno=line) for k in node.kwargs], lineno=line)
            return nodes.Mod(pattern, variables, lineno=line)
        try:
            value = (Markup(text) if self.autoescape else text) % {}  # noqa: S704 - as Jinja: our own catalogue
        except (KeyError, TypeError, ValueError):
            return node  # a pattern with variables but none given: fails at render time, as before
        constant = nodes.Const(str(value), lineno=node.lineno)
        return nodes.MarkSafe(constant, lineno=node.lineno) if self.autoescape else constant


def json_text(value: Any) -> str:
    """Audit before/after values as readable JSON (Chinese left as is); autoescaped by Jinja."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def template_config(names: Mapping[str, Any]) -> TemplateConfig[JinjaTemplateEngine]:
    """`names`: what every template may use besides the context, given by the app factory (the
    domains' labels the page frame shows, e.g. ROLE_LABELS), so that this module imports no domain."""
    return TemplateConfig(
        directory=ROOT / "templates",
        engine=JinjaTemplateEngine,
        engine_callback=partial(configure_environment, names=dict(names)),
    )


def render(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    """Render a page with the actor and any flash message; the flash cookie is spent here."""
    flash = request.cookies.get(FLASH_COOKIE)
    cookies = []
    if flash:
        context["flash"] = urllib.parse.unquote(flash)
        cookies.append(Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax",
                              secure=get_settings().secure_cookies))
    context.setdefault("actor", request.scope.get("user"))
    # The media type Litestar would infer (when the handler names none), from a cache: Litestar
    # guesses it from the template's suffixes (mimetypes.guess_type, ~4 µs) on every page.
    handler = request.scope.get("route_handler")
    media_type = template_media_type(template) if isinstance(handler, HTTPRouteHandler) and not handler.media_type else None
    return Template(template_name=template, context=context, status_code=status_code, cookies=cookies, media_type=media_type)


@functools.lru_cache(maxsize=1024)  # one per template name
def template_media_type(name: str) -> MediaType | str:
    """What litestar.response.Template.to_asgi_response infers for a template file without a media
    type: the type of its first suffix that has one, else text/plain."""
    for suffix in PurePath(name).suffixes:
        if found := guess_type(f"name{suffix}")[0]:
            return found
    return MediaType.TEXT


def redirect(url: str, flash: str | None = None) -> Redirect:
    """303 after a successful POST, with an optional one-time message for the next page."""
    cookies = []
    if flash:
        cookies.append(Cookie(key=FLASH_COOKIE, value=urllib.parse.quote(flash), path="/", httponly=True, samesite="lax",
                              secure=get_settings().secure_cookies))
    return Redirect(path=url, status_code=303, cookies=cookies)
