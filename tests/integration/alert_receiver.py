"""A webhook receiver for Alertmanager that records every alert it is sent.

It runs in a thread of the test process, bound to the lab network's gateway
address, so that Alertmanager inside the lab reaches it and nothing outside
the lab does.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


@dataclass(frozen=True)
class ReceivedAlert:
    """One alert out of one webhook notification."""

    received: float
    status: str
    name: str
    instance: str
    labels: dict[str, str]


class AlertReceiver:
    """Record Alertmanager's webhook notifications, alert by alert."""

    def __init__(self, address: str, port: int = 0) -> None:
        self.alerts: list[ReceivedAlert] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                now = time.monotonic()
                with receiver._lock:
                    for alert in payload.get("alerts", []):
                        labels = alert.get("labels", {})
                        receiver.alerts.append(
                            ReceivedAlert(
                                received=now,
                                status=alert.get("status", ""),
                                name=labels.get("alertname", ""),
                                instance=labels.get("instance", ""),
                                labels=labels,
                            )
                        )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((address, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/alerts"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(
        self, *, name: str, instance: str, status: str, after: float, timeout: float
    ) -> ReceivedAlert | None:
        """Return the first matching alert received after ``after``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for alert in self.alerts:
                    if (alert.name, alert.instance, alert.status) == (name, instance, status) and (
                        alert.received >= after
                    ):
                        return alert
            time.sleep(0.5)
        return None
