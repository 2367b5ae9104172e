"""Domain errors. Services raise these; one exception handler (conference.web.errors) maps them to
HTTP for pages and for the JSON API, so business code never speaks HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    """Wrong state for the operation, or someone else saved the record first."""

    status_code = 409


class Busy(DomainError):
    """The database could not take the write in time (SQLite's single writer under load): nothing
    was written, and the same request may simply be sent again."""

    status_code = 503
    retry_after = 5

    def __init__(self, message: str | None = None) -> None:
        from conference.i18n import gettext as _

        super().__init__(message or _("系统繁忙，您的操作尚未保存。请稍候几秒后重新提交。"))


class ValidationFailed(DomainError):
    """Bad input: `errors` maps each field to a message a person understands."""

    status_code = 400

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        from conference.i18n import gettext as _

        super().__init__(message or _("提交的内容有误，请按提示修改。"))
        self.errors = errors

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a worker process too (conference.workers): rebuilt there from both arguments.
        return (type(self), (self.errors, self.message))
