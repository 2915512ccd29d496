"""A small HTTP service to deploy in the lab: health, version and a little data it keeps.

Standard library only, so it runs on any host with python3. Settings come from
the environment (the release role templates them):

- ``APP_BIND`` / ``APP_PORT``: where to listen (default 0.0.0.0:8080);
- ``APP_DATA_DIR``: where the data lives (the release's shared directory);
- ``APP_GREETING``: the text of ``/``.

Endpoints: ``/`` (greeting), ``/healthz``, ``/version``, ``GET /items`` and
``POST /items`` (the body, one line of text, is appended to the stored list).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = json.loads((HERE / "build_info.json").read_text(encoding="utf-8"))
DATA_DIR = Path(os.environ.get("APP_DATA_DIR", HERE / "data"))
ITEMS = DATA_DIR / "items.json"
GREETING = os.environ.get("APP_GREETING", "hello from the e5ops demo app")
MAX_ITEM_BYTES = 1024
_lock = threading.Lock()


def _read_items() -> list[str]:
    if not ITEMS.is_file():
        return []
    return list(json.loads(ITEMS.read_text(encoding="utf-8")))


def _write_items(items: list[str]) -> None:
    # Write beside the target and rename, so a crash never leaves half a file.
    fd, tmp = tempfile.mkstemp(dir=DATA_DIR, prefix=".items.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(items, handle)
    Path(tmp).replace(ITEMS)


def _healthy() -> bool:
    # A release built as broken fails its health check on purpose: the lab
    # uses it to prove that a bad version is rolled back by itself.
    return bool(BUILD.get("healthy", True)) and os.access(DATA_DIR, os.W_OK)


class Handler(BaseHTTPRequestHandler):
    """Answer the demo endpoints over HTTP/1.1 with keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "e5ops-demo-app"

    def _send(self, status: int, body: object) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        payload = (text + "\n").encode()
        self.send_response(status)
        kind = "text/plain" if isinstance(body, str) else "application/json"
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        """Serve the read-only endpoints."""
        if self.path == "/healthz":
            if _healthy():
                self._send(HTTPStatus.OK, "ok")
            else:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, "unhealthy")
        elif self.path == "/version":
            self._send(HTTPStatus.OK, BUILD["version"])
        elif self.path == "/items":
            with _lock:
                self._send(HTTPStatus.OK, _read_items())
        elif self.path == "/":
            host = socket.gethostname()
            body = {"greeting": GREETING, "version": BUILD["version"], "host": host}
            self._send(HTTPStatus.OK, body)
        else:
            self._send(HTTPStatus.NOT_FOUND, "not found")

    def do_POST(self) -> None:
        """Append one item to the stored list."""
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/items":
            self._send(HTTPStatus.NOT_FOUND, "not found")
            return
        if not 0 < length <= MAX_ITEM_BYTES:
            self._send(HTTPStatus.BAD_REQUEST, f"send 1 to {MAX_ITEM_BYTES} bytes")
            return
        item = self.rfile.read(length).decode("utf-8", "replace").strip()
        with _lock:
            items = [*_read_items(), item]
            _write_items(items)
        self._send(HTTPStatus.CREATED, {"items": len(items)})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Keep the journal quiet: HAProxy logs every request already."""


def main() -> None:
    """Serve until stopped."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    bind = os.environ.get("APP_BIND", "0.0.0.0")  # noqa: S104 - a server behind the balancer
    port = int(os.environ.get("APP_PORT", "8080"))
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    with ThreadingHTTPServer((bind, port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
