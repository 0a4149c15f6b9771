"""The embeddable chat widget (`GET /widget.js`) and a demo clinic page that embeds it (`GET /`)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

#: The demo page runs only its own script and talks only to this server, so a strict policy
#: costs nothing there; inline styles are allowed for the widget's <style> in its shadow root.
DEMO_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def static_text(name: str) -> str:
    """A file of the package's `static/` folder (installed as package data)."""
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def install_widget(app: FastAPI) -> None:
    """Add `GET /` (the demo clinic page) and `GET /widget.js` (the embeddable script)."""
    # Read once: both files are small and change only with a new release.
    page, script = static_text("demo.html"), static_text("widget.js")

    async def demo_page() -> HTMLResponse:
        """A demo clinic page with the widget's one <script> tag."""
        return HTMLResponse(page, headers={"Content-Security-Policy": DEMO_PAGE_CSP,
                                           "X-Content-Type-Options": "nosniff"})

    async def widget_script() -> Response:
        """The widget: plain JavaScript, no dependencies, for any clinic page to embed."""
        return Response(script, media_type="application/javascript; charset=utf-8", headers={
            "Cache-Control": "public, max-age=300",
            # Embeddable from any origin, even pages that set Cross-Origin-Embedder-Policy.
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        })

    app.add_api_route("/", demo_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/widget.js", widget_script, methods=["GET"], include_in_schema=False)
