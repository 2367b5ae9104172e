"""JSON API under /api/ (Bearer token), documented at /schema.

Every API route sits in one router that adds the Bearer security requirement to the OpenAPI
document and turns Litestar's request validation errors (wrong JSON types, unknown fields, bad
query or path parameters) into the same Chinese per-field answer the services give:
`{"status_code": 400, "detail": ..., "errors": {field: message}}`.
Each domain's API is a router of its own under its prefix (/api/tasks, /api/holidays, ...), nested
in this one; its handlers' paths are relative to that prefix.
"""

from __future__ import annotations

from litestar import Router
from litestar.exceptions import ValidationException

from conference.accounts.api import ROUTES as ACCOUNT_ROUTES
from conference.agenda.api import ROUTES as AGENDA_ROUTES
from conference.agenda.intake_api import ROUTES as INTAKE_ROUTES
from conference.audit.api import ROUTES as AUDIT_ROUTES
from conference.calendar.feed_api import ROUTES as FEED_ROUTES
from conference.holidays.api import ROUTES as HOLIDAY_ROUTES
from conference.integrations.api import ROUTES as INTEGRATION_ROUTES
from conference.mail.api import ROUTES as OUTBOX_ROUTES
from conference.meetings.api import ROUTES as MEETING_ROUTES
from conference.minutes.api import ROUTES as MINUTES_ROUTES
from conference.registry.api import ROUTES as REGISTRY_ROUTES
from conference.search.api import ROUTES as SEARCH_ROUTES
from conference.supervision.api import ROUTES as SUPERVISION_ROUTES
from conference.tasks.api import ROUTES as TASK_ROUTES
from conference.tasks.resolutions_api import ROUTES as RESOLUTION_ROUTES
from conference.web.apikit import undecodable_body, validation_error

SECURITY_SCHEME = "BearerToken"

ROUTES = [
    Router(path="/", route_handlers=[*REGISTRY_ROUTES, *MEETING_ROUTES, *AGENDA_ROUTES, *MINUTES_ROUTES, *HOLIDAY_ROUTES, *SEARCH_ROUTES,
                                         *INTAKE_ROUTES, *TASK_ROUTES, *RESOLUTION_ROUTES, *SUPERVISION_ROUTES,
                                         *AUDIT_ROUTES, *OUTBOX_ROUTES, *ACCOUNT_ROUTES, *FEED_ROUTES,
                                         *INTEGRATION_ROUTES], security=[{SECURITY_SCHEME: []}],
           exception_handlers={ValidationException: validation_error, UnicodeDecodeError: undecodable_body}),
]
