"""The Litestar application: routes of every domain, auth, CSRF, templates, errors, OpenAPI."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

from litestar import Litestar, Request, Router
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from conference import api, db, workdays, workers
from conference.accounts import onboarding_routes
from conference.accounts import routes as account_routes
from conference.accounts.services import actor_for_api_token, actor_for_session
from conference.agenda import routes as agenda_routes
from conference.audit import routes as audit_routes
from conference.calendar import routes as calendar_routes
from conference.documents import routes as document_routes
from conference.holidays import routes as holiday_routes
from conference.integrations import events as integration_events
from conference.integrations import routes as integration_routes
from conference.integrations.sender import webhook_loop
from conference.mail import routes as mail_routes
from conference.mail.inbox import inbox_loop
from conference.mail.sender import mail_loop
from conference.meetings import reply_routes, special_routes
from conference.meetings import routes as meeting_routes
from conference.minutes import font_routes
from conference.minutes import pdf as minutes_pdf
from conference.minutes import routes as minutes_routes
from conference.notifications import routes as notification_routes
from conference.registry import import_routes
from conference.registry import routes as registry_routes
from conference.roles import ROLE_LABELS
from conference.search import routes as search_routes
from conference.settings import ROOT, Settings, get_settings
from conference.supervision import pages as supervision_pages
from conference.supervision import routes as supervision_routes
from conference.tasks import link_routes as task_link_routes
from conference.tasks import routes as task_routes
from conference.tasks.reminders import reminder_loop
from conference.web import home, logmask, ormspeed
from conference.web.apikit import PageSchemas
from conference.web.auth import ACTOR_DEPENDENCY, AuthMiddleware, check_every_route, guarded, reject_impossible_ids
from conference.web.errors import EXCEPTION_HANDLERS
from conference.web.headers import security_headers
from conference.web.swagger import StrictSwaggerRenderPlugin
from conference.web.templating import template_config
from conference.workbench import routes as workbench_routes

CALENDAR_CHECK_SECONDS = 10.0


async def before_request(request: Request[Any, Any, Any]) -> None:
    await reject_impossible_ids(request)
    # The holiday calendar of this process, read again when the office changed it (one-row check).
    # A change (which may compute a deadline) always checks; a page view at most every
    # CALENDAR_CHECK_SECONDS, so that reading pages costs no extra query (a deadline shown a few
    # seconds after another process changed the calendar is recomputed by that change anyway).
    if not request.url.path.startswith("/static/"):
        await workdays.refresh(max_age=CALENDAR_CHECK_SECONDS if request.method in ("GET", "HEAD") else 0.0)


# Who may call a route (conference.web.auth.access_guard, deny by default) is checked first in the
# before_request hook, not as a Litestar guard: the same place in the order, without the copy of the
# route handler Litestar makes for every guard call.
REQUEST_HOOK = guarded(before_request)


def settle_memory() -> None:
    """Sets the objects alive at start-up (modules, routes, the ORM's tables, compiled schemas:
    some 270,000) aside from the cyclic garbage collector. They live as long as the process, yet
    each full collection walked them all again: about every thousand requests a pause of ~150 ms,
    some 0.1-0.3 ms a request on a list page. Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def background_jobs(settings: Settings, app: Litestar) -> AsyncIterator[None]:
    """The database, then the jobs each server process runs on a schedule: the reminder job
    (duplicates across processes are impossible by construction, see conference.tasks.reminders) and
    the mail sender (rows are claimed, so several processes never send one twice).

    The order matters both ways. A job started before the PostgreSQL pool exists takes a connection
    outside it and fails when it gives it back. On shutdown the jobs are cancelled first and
    awaited while the database is still there: the sender finishes the message in flight and puts the
    rest of its batch back in the queue (conference.mail.sender) before the pool closes."""
    await db.start(settings)
    settle_memory()
    try:
        job = asyncio.create_task(reminder_loop(settings.reminder_interval)) if settings.reminder_interval > 0 else None
        mailer = asyncio.create_task(mail_loop(settings.mail_interval)) if settings.mail_interval > 0 else None
        # Webhooks and group robots (conference.integrations.sender): claimed like the mail outbox.
        hooks = asyncio.create_task(webhook_loop(settings.webhook_interval)) if settings.webhook_interval > 0 else None
        # Calendar replies from the office mailbox (IMAP), when one is configured.
        reader = asyncio.create_task(inbox_loop(settings.imap_interval)) if settings.imap_host and settings.imap_interval > 0 else None
        try:
            yield
        finally:
            for task in (job, mailer, reader, hooks):
                if task is not None:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
    finally:
        gc.unfreeze()  # what settle_memory set aside is collectable again (tests start many apps in one process)
        workers.shutdown()  # a running export or parse is abandoned, not awaited, when the server stops
        await db.stop()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    logmask.install()  # no reply or feed token in the access log
    ormspeed.install()  # Piccolo's foreign keys check attribute names without dir() (conference.web.ormspeed)
    integration_events.listen()  # audited changes become webhook and group-robot events (conference.hooks)
    static = create_static_files_router(path="/static", directories=[ROOT / "static"], opt={"public": True},
                                        include_in_schema=False)
    app = Litestar(
        route_handlers=[
            static, *home.ROUTES, *workbench_routes.ROUTES, *account_routes.ROUTES, *onboarding_routes.ROUTES,
            *registry_routes.ROUTES, *import_routes.ROUTES, *document_routes.ROUTES,
            *audit_routes.ROUTES, *meeting_routes.ROUTES, *special_routes.ROUTES, *reply_routes.ROUTES, *task_link_routes.ROUTES,
            *agenda_routes.ROUTES, *notification_routes.ROUTES, *task_routes.ROUTES, *api.ROUTES, *supervision_routes.ROUTES, *supervision_pages.ROUTES,
            *calendar_routes.ROUTES, *mail_routes.ROUTES, *minutes_routes.ROUTES, *font_routes.ROUTES, *holiday_routes.ROUTES, *search_routes.ROUTES,
            *integration_routes.ROUTES,
        ],
        middleware=[AuthMiddleware(by_session=actor_for_session, by_token=actor_for_api_token)],
        dependencies=ACTOR_DEPENDENCY,  # a handler's `actor: Actor` parameter (conference.web.auth.current_actor)
        before_request=REQUEST_HOOK,  # access_guard, then before_request
        before_send=[security_headers],  # CSP, framing, nosniff, Referrer-Policy, no-store, HSTS
        # The JSON API authenticates with Bearer tokens only (never cookies), so CSRF does not apply there.
        csrf_config=CSRFConfig(secret=settings.secret_key, cookie_secure=settings.secure_cookies,
                               cookie_httponly=True, exclude=["^/api/"]),
        template_config=template_config({"ROLE_LABELS": ROLE_LABELS}),  # the role beside the user's name
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="联席会议议事督办系统 API", version="1.0.0", path="/schema",
            use_handler_docstrings=True,  # an operation's description is its handler's docstring
            render_plugins=[StrictSwaggerRenderPlugin(
                js_url="/static/vendor/swagger-ui-bundle.js", css_url="/static/vendor/swagger-ui.css",
                standalone_preset_js_url="/static/vendor/swagger-ui-standalone-preset.js",
                # no CDN favicon (the default): the page must work offline
                favicon="<link rel='icon' href='data:,'>",
            )],
            components=Components(security_schemes={api.SECURITY_SCHEME: SecurityScheme(
                type="http", scheme="bearer", description="Authorization: Bearer <令牌>")}),
            openapi_router=Router(path="/schema", route_handlers=[], opt={"public": True}, include_in_schema=False),
            description="登记信息、会议、议题、专题会议提请、参会回执、督办任务等的 JSON 接口。认证：Authorization: Bearer <令牌>。",
        ),
        plugins=[PageSchemas()],  # Page[MeetingRow] is the component MeetingPage
        lifespan=[partial(background_jobs, settings)],
        # minutes_pdf.startup logs whether WeasyPrint subsets fonts with HarfBuzz (fast minutes PDFs) or not.
        on_startup=[minutes_pdf.startup],
        request_max_body_size=10 * 1024 * 1024,
        logging_config=None,
        debug=False,
    )
    check_every_route(app, REQUEST_HOOK)  # no route escapes the access check
    return app


app = create_app()
