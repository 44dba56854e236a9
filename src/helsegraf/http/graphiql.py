"""GraphiQL served from the package itself, so that it works on a network without internet access.

Strawberry's GraphiQL page loads React, GraphiQL and the explorer plugin from unpkg.com. The same files
(byte for byte, so the page's subresource-integrity hashes still hold) ship in `static/graphiql/`
(`tools/vendor-graphiql.sh` refreshes them), and the page is rewritten to load them from `/graphiql/`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html

ASSETS = Path(__file__).parent / "static" / "graphiql"
# Mounted beside /graphql, and referred to relatively, so a path prefix in front of the server still works.
MOUNT = "/graphiql"

# The page's CDN addresses and the vendored file serving each.
VENDORED = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react-18.2.0.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": "react-dom-18.2.0.production.min.js",
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js-cookie-3.0.5.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql-3.8.3.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql-3.8.3.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer-1.0.2.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "plugin-explorer-1.0.2.umd.js",
}
CDN = "https://unpkg.com/"
KEEP = (b"cache-control", b"public, max-age=31536000, immutable")

log = logging.getLogger("helsegraf")


def graphiql_page() -> str:
    """Return Strawberry's GraphiQL page, loading every asset from this server."""
    page = get_graphql_ide_html("graphiql")
    for url, name in VENDORED.items():
        page = page.replace(url, f"{MOUNT.lstrip('/')}/{name}")
    if CDN in page:
        log.warning("GraphiQL asks for files that are not vendored, and loads them from %s: "
                    "run tools/vendor-graphiql.sh", CDN)  # fmt: skip
    return page


class GraphiQLAssets(StaticFiles):
    """The vendored files; their names carry their versions, so browsers may keep them."""

    def __init__(self) -> None:
        super().__init__(directory=ASSETS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a file, with a long-lived cache header when it is found."""

        async def cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == HTTPStatus.OK:
                message["headers"] = [*message.get("headers", []), KEEP]
            await send(message)

        await super().__call__(scope, receive, cached)
