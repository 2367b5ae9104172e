"""The admin's 公文字体 page: which font each role of the PDFs uses (the office's licensed fonts in
FONTS_DIR, fonts installed on the system, or Debian's stand-ins) and what the folder holds."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Router, get
from litestar.response import Template

from conference.minutes import fonts
from conference.roles import Role
from conference.settings import get_settings
from conference.web.templating import render


def _report() -> dict[str, Any]:
    folder = fonts.fonts_dir()
    return {"roles": fonts.roles(), "folder_setting": get_settings().fonts_dir, "folder": folder,
            "folder_fonts": fonts.folder_fonts(), "extension_b": fonts.extension_b_font()}


@get("/", opt={"roles": (Role.ADMIN,)})
async def font_report(request: Request[Any, Any, Any]) -> Template:
    # fc-list and reading the folder's name tables block: in a worker thread.
    return render(request, "admin/fonts.html", **await anyio.to_thread.run_sync(_report))


# A page, not an API operation: kept out of the OpenAPI schema.
ROUTES: list[Any] = [Router("/admin/fonts", route_handlers=[font_report], include_in_schema=False)]
