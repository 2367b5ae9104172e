"""Jinja2 set-up (gettext, date filters) and the one `render` helper every page handler uses."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from litestar import Request
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from conference.i18n import translations
from conference.settings import ROOT, get_settings
from conference.timefmt import cn_date, cn_datetime, cn_month_day, cn_time, days_since

FLASH_COOKIE = "flash"


def configure_environment(engine: JinjaTemplateEngine, names: Mapping[str, Any]) -> None:
    env: Environment = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = kept_gettext(translations().gettext)
    env.filters["cn_date"] = cn_date
    env.filters["cn_datetime"] = cn_datetime
    env.filters["cn_time"] = cn_time
    env.filters["cn_month_day"] = cn_month_day
    env.filters["days_since"] = days_since
    env.filters["json_text"] = json_text
    env.globals.update(names)


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

    return gettext


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
    return Template(template_name=template, context=context, status_code=status_code, cookies=cookies)


def redirect(url: str, flash: str | None = None) -> Redirect:
    """303 after a successful POST, with an optional one-time message for the next page."""
    cookies = []
    if flash:
        cookies.append(Cookie(key=FLASH_COOKIE, value=urllib.parse.quote(flash), path="/", httponly=True, samesite="lax",
                              secure=get_settings().secure_cookies))
    return Redirect(path=url, status_code=303, cookies=cookies)
