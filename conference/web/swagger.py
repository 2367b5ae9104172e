"""The OpenAPI page (/schema) without inline script or style, so that it works under the strict
Content-Security-Policy (conference.web.headers): static/swagger-init.js starts Swagger UI with
the address of the OpenAPI document taken from a data attribute."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import SwaggerRenderPlugin


class StrictSwaggerRenderPlugin(SwaggerRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec_url = html.escape(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html><html lang="zh-CN"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>{self.favicon}
<link href="{self.css_url}" rel="stylesheet">
<script src="{self.js_url}" defer></script>
<script src="{self.standalone_preset_js_url}" defer></script>
<script src="/static/swagger-init.js" defer></script>
</head><body><div id="swagger-container" data-spec-url="{spec_url}"></div></body></html>""".encode()

    def receive_router(self, router: Router) -> None:
        """No /schema/oauth2-redirect.html (an inline-script page): the API knows no OAuth2 flow,
        only Bearer tokens."""
