"""The one POST-handling pattern of every form page: run the service, and on bad input show the
form again with each message beside its field and everything the user typed kept.

The page around the form (a detail page: ten queries or so) is needed only when the form is shown
again; a handler passes it as `page`, a function building it, so a successful action never reads it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from conference.errors import Conflict, ValidationFailed
from conference.web.templating import redirect, render


async def form_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items() if k != "_csrf_token" and isinstance(v, str)}


async def submit(
    request: Request[Any, Any, Any],
    *,
    template: str,
    action: Callable[[dict[str, Any]], Awaitable[Any]],
    success: Callable[[Any], str],
    flash: str | Callable[[Any], str],  # a function of the action's result for a message that counts
    page: Callable[[], Awaitable[dict[str, Any]]] | None = None,  # the page's context, built only on an error
    **context: Any,
) -> Template | Redirect:
    data = await form_data(request)
    try:
        result = await action(data)
    except ValidationFailed as exc:
        shown = {**(await page() if page else {}), **context}
        return render(request, template, 400, form=data, errors=exc.errors, error_message=exc.message, **shown)
    except Conflict as exc:
        shown = {**(await page() if page else {}), **context}
        return render(request, template, 409, form=data, errors={}, error_message=exc.message, **shown)
    return redirect(success(result), flash(result) if callable(flash) else flash)
