"""The clinic console: `GET /admin/`, one page with its own script and stylesheet.

The page is static and public (it holds no data); everything it shows comes from the admin
routes, which refuse without an admin key. It runs under a strict Content-Security-Policy: only
this server's scripts, styles and connections, no inline script or style, no other host.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from groundedqa.api.widget import static_text

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install_console(app: FastAPI) -> None:
    """Add `GET /admin/` (and its script and stylesheet); `/admin` redirects there."""
    page = static_text("console.html")
    assets = {"console.js": (static_text("console.js"), "application/javascript; charset=utf-8"),
              "console.css": (static_text("console.css"), "text/css; charset=utf-8")}

    async def console_page() -> HTMLResponse:
        """The console page."""
        return HTMLResponse(page, headers=_HEADERS)

    async def to_console() -> RedirectResponse:
        # A path, not a URL: the Host header never decides where this points.
        return RedirectResponse("/admin/", status_code=308)

    def asset_route(name: str):
        text, media_type = assets[name]

        async def asset() -> Response:
            return Response(text, media_type=media_type, headers=_HEADERS)
        return asset

    app.add_api_route("/admin/", console_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/admin", to_console, methods=["GET"], include_in_schema=False)
    for name in assets:
        app.add_api_route(f"/admin/{name}", asset_route(name), methods=["GET"],
                          include_in_schema=False)
