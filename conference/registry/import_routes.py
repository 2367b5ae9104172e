"""Member-unit import page: the upload form, the per-row report, and the template workbook.

The work is in conference.registry.importer (and reading the file in conference.registry.import_file); these handlers only read the upload and render.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.response import Template

from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.scope import visible_conference_ids
from conference.errors import Conflict, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.registry import import_file, importer
from conference.registry.tables import Conference
from conference.roles import OFFICE_ROLES
from conference.web.errors import http_error
from conference.web.templating import render

PAGE = "registry/units_import.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Uploads a little over the 2 MB file limit still reach the handler and get the message beside the
# file field; anything larger is refused while the body is read (413, see `_too_large`).
BODY_LIMIT = 4 * 1024 * 1024


async def _conference_options(actor: Actor) -> list[tuple[str, str]]:
    visible = await visible_conference_ids(actor)
    query = Conference.select(Conference.id, Conference.name).order_by(Conference.sort_key, Conference.name)
    if visible is not None:
        query = query.where(Conference.id.is_in(list(visible) or [0]))
    return [("", _("（不加入联席会议）"))] + [(str(r["id"]), r["name"]) for r in await query]


async def _page(request: Request[Any, Any, Any], actor: Actor, status: int = 200, **context: Any) -> Template:
    context.setdefault("form", {})
    context.setdefault("errors", {})
    return render(request, PAGE, status, conference_options=await _conference_options(actor),
                  max_rows=import_file.MAX_ROWS, headers=list(import_file.HEADERS.values()), **context)


def _too_large(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return http_error(request, HTTPException(status_code=413, detail=_("上传的文件过大：导入文件不能超过 2 MB，请分批导入。")))


@get("/", name="units_import", opt={"roles": OFFICE_ROLES})
async def import_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    return await _page(request, actor)


@post("/", name="units_import_run", opt={"roles": OFFICE_ROLES}, request_max_body_size=BODY_LIMIT,
      exception_handlers={413: _too_large})
async def import_run(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    form = await request.form()
    upload = form.get("file")
    conference = form.get("conference")
    kept = {"conference": conference if isinstance(conference, str) else ""}
    reader = FormReader(kept)
    conference_id = reader.ref("conference", _("联席会议"), required=False)
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            reader.fail("file", _("请选择要导入的 .xlsx 或 .csv 文件。"))
        reader.done()
        assert isinstance(upload, UploadFile)
        content = await upload.read()
        await upload.close()
        report = await importer.import_units(actor, upload.filename, content, conference_id)
    except ValidationFailed as exc:
        return await _page(request, actor, 400, form=kept, errors=exc.errors, error_message=exc.message)
    except Conflict as exc:
        return await _page(request, actor, 409, form=kept, error_message=exc.message)
    return await _page(request, actor, form=kept, report=report)


@get("/template.xlsx", name="units_import_template", opt={"roles": OFFICE_ROLES})
async def import_template() -> Response[bytes]:
    filename = urllib.parse.quote(_("成员单位导入模板") + ".xlsx")
    disposition = f"attachment; filename=\"member-units-template.xlsx\"; filename*=UTF-8''{filename}"
    return Response(content=import_file.template_workbook(), media_type=XLSX, headers={"Content-Disposition": disposition})


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES: list[Router] = [
    Router("/registry/units/import", route_handlers=[import_page, import_run, import_template], include_in_schema=False),
]
