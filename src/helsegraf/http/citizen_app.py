"""The citizen app (`examples/citizen-app`), built into the package and served at /app/.

The build in `static/app/` is committed, so that a server installed without Node serves the app. Its
`trusted-documents.json` is the manifest of every operation the app sends; a server in trusted-documents
mode needs those documents in its manifest for the app to work. `config.json` tells the app how this server
runs: whether it takes document ids only, and whether the demo sign-in is there.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path, PurePosixPath
from typing import Final

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from helsegraf.config import Settings
from helsegraf.http.trusted import TrustedDocuments

APP_DIR: Final = Path(__file__).parent / "static" / "app"
MANIFEST: Final = APP_DIR / "trusted-documents.json"
MOUNT: Final = "/app"

# The app loads nothing but its own files, talks to nothing but this server, and is never framed.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# File names under assets/ carry a hash of their content: a browser may keep them for good.
IMMUTABLE: Final = "public, max-age=31536000, immutable"

log = logging.getLogger("helsegraf")


def app_built() -> bool:
    """Tell whether the package carries the app's build."""
    return (APP_DIR / "index.html").is_file()


def check_manifest(trusted: TrustedDocuments | None) -> None:
    """Warn when trusted documents are enforced without the app's: the app at /app/ would be refused."""
    if trusted is None or not MANIFEST.is_file():
        return
    missing = [key for key in TrustedDocuments(str(MANIFEST)).documents if trusted.find(key) is None]
    if missing:
        log.warning("the citizen app at %s/ sends %d documents the trusted-documents manifest lacks; add %s to it",
                    MOUNT, len(missing), MANIFEST)  # fmt: skip


class CitizenApp(StaticFiles):
    """The app's files, `config.json`, and index.html for every path of the app's own (its views' addresses)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(directory=APP_DIR, check_dir=False)
        self.config = {
            "graphqlUrl": "/graphql",
            "trustedDocuments": settings.http.trusted_documents is not None,
            "demoSignIn": settings.auth.mode == "development",
        }

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Answer a path under /app/: a file, the config, or the app's page for a view's address."""
        if not app_built():
            return PlainTextResponse("the citizen app is not built into this installation: "
                                     "run `npm run build --prefix examples/citizen-app`", status_code=404)  # fmt: skip
        if path == "config.json" and scope["method"] in {"GET", "HEAD"}:
            return JSONResponse(self.config, headers={"cache-control": "no-cache"})
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            last = PurePosixPath(path).name
            if exc.status_code != HTTPStatus.NOT_FOUND or "." in last or path.startswith("assets"):
                raise
            return await super().get_response("index.html", scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve, adding the app's security and caching headers."""
        hashed = str(scope.get("path", "")).startswith(f"{MOUNT}/assets/")

        async def decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                cache = IMMUTABLE if hashed and message["status"] == HTTPStatus.OK else "no-cache"
                headers += [(b"cache-control", cache.encode()),
                            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())]  # fmt: skip
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, decorated)
