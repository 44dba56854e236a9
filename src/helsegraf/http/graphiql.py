"""GraphiQL served from the package itself, so that it works on a network without internet access.

Strawberry's GraphiQL page loads React, GraphiQL and the explorer plugin from unpkg.com. The same files
(byte for byte, so the page's subresource-integrity hashes still hold) ship in `static/graphiql/`
(`tools/vendor-graphiql.sh` refreshes them), and the page is rewritten to load them from `/graphiql/`.

The page opens with an example query over the served data (sample ids read from it), the Headers tab open
and a hint above the editor saying that personal fields need an `Authorization` header. Headers are not
kept in the browser's localStorage, where Strawberry's page would keep them: a token pasted once would
stay there, readable by every page of the origin (the citizen app at /app/ included).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html

if TYPE_CHECKING:
    from helsegraf.http.samples import Samples

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


HINT = (
    '<p class="helsegraf-hint" role="note"><strong>Personal fields need a token.</strong> Open '
    "<strong>Headers</strong> below the editor and add "
    "<code>{&quot;Authorization&quot;: &quot;Bearer &lt;token&gt;&quot;}</code>. "
    "<code>helsegraf demo</code> prints tokens; <code>helsegraf token --role clinician --hpr N --org ORGNR</code> "
    "mints one. Without a token, personal fields are null and <code>extensions.redactions</code> says why.</p>"
)
HINT_STYLE = """
      .helsegraf-hint { margin: 0; padding: 0.5rem 1rem; font: 14px/1.4 system-ui, sans-serif;
                        background: #fff4d6; color: #1a1a1a; border-bottom: 1px solid #c9a227; }
      .helsegraf-hint code { font-size: 13px; }
      body { display: flex; flex-direction: column; height: 100vh; }
      #graphiql { flex: 1; height: auto; min-height: 0; }
"""


def example_query(ids: dict[str, Any] | None) -> str:
    """Return GraphiQL's opening query: a person and their GP, and open GP lists, with ids from the data."""
    nin = (ids or {}).get("personWithGp") or "01815338878"
    municipality = (ids or {}).get("municipalityWithOpenLists") or "0301"
    hpr = (ids or {}).get("gpHprNumber") or 1000200
    org = (ids or {}).get("officeOrgNumber") or "310000000"
    return f"""# helsegraf: one GraphQL graph over Norway's health-sector base registers (synthetic data).
#
# Personal fields need a token: open "Headers" below and add
#   {{"Authorization": "Bearer <token>"}}
# `helsegraf demo` prints tokens, and this mints a clinician's:
#   helsegraf token --role clinician --hpr {hpr} --org {org}
# Without a token, the person's fields are null and extensions.redactions says why.
# `helsegraf sample` prints more ids to try. Run with Ctrl-Enter.
query Example {{
  person(nin: "{nin}") {{
    nin
    name {{ full }}
    gp {{
      gp {{ hprNumber name {{ full }} }}
      gpHerId
      contract {{ id isOpen placesAvailable office {{ name }} }}
    }}
  }}
  gpContracts(municipality: "{municipality}", openOnly: true, first: 3) {{
    totalCount
    edges {{ node {{ id placesAvailable office {{ name }} gps {{ relationship gp {{ name {{ full }} }} }} }} }}
  }}
}}
"""


def _template_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")


def graphiql_page(example: str | None = None) -> str:
    """Return Strawberry's GraphiQL page, loading every asset from this server (opening with `example`)."""
    page = get_graphql_ide_html("graphiql")
    for url, name in VENDORED.items():
        page = page.replace(url, f"{MOUNT.lstrip('/')}/{name}")
    if CDN in page:
        log.warning("GraphiQL asks for files that are not vendored, and loads them from %s: "
                    "run tools/vendor-graphiql.sh", CDN)  # fmt: skip
    if example is None:
        return page
    literal = f"const EXAMPLE_QUERY = `{_template_literal(example)}`;"
    page, found = re.subn(r"const EXAMPLE_QUERY = `.*?`;", lambda _: literal, page, count=1, flags=re.DOTALL)
    page = page.replace("defaultEditorToolsVisibility: true", 'defaultEditorToolsVisibility: "headers"')
    page = page.replace("shouldPersistHeaders: true", "shouldPersistHeaders: false")
    page = page.replace("<title>Strawberry GraphiQL</title>", "<title>helsegraf GraphiQL</title>")
    page = page.replace("<html>", '<html lang="en">', 1).replace("    </style>", HINT_STYLE + "    </style>", 1)
    page = page.replace('<div id="graphiql"', HINT + '\n    <div id="graphiql"', 1)
    if not found:
        log.warning("GraphiQL's page has changed: its example query could not be set")
    return page


class GraphiQLPage:
    """GraphiQL with an example query over the served data (generic ids while the data cannot be read)."""

    def __init__(self, samples: Samples) -> None:
        self.samples = samples

    async def response(self) -> HTMLResponse:
        """Return the page, with today's sample ids in its example query."""
        return HTMLResponse(graphiql_page(example_query(await self.samples.get())))


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
