"""Reading the lab from the controller, as the tests and benchmarks do: lab addresses only."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def get_json(url: str, *, timeout: float = 10) -> Any:
    """Return the JSON a lab service answers at ``url``."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - lab address
        return json.load(response)


def wait_until(check: Callable[[], Any], *, timeout: float, interval: float = 2.0) -> Any:
    """Call ``check`` until it returns something true or ``timeout`` seconds pass; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def app_version(address: str) -> str:
    """The release the demo app on ``address`` serves."""
    with urllib.request.urlopen(f"http://{address}:8080/version", timeout=5) as answer:
        return answer.read().decode().strip()


def server_states(lb: str) -> dict[str, str]:
    """Each backend's state (UP, DOWN, MAINT...), from HAProxy's Prometheus endpoint on ``lb``."""
    with urllib.request.urlopen(f"http://{lb}:8405/metrics", timeout=5) as answer:
        return parse_server_states(answer.read().decode())


def parse_server_states(text: str) -> dict[str, str]:
    """Each backend's state, from the text of HAProxy's Prometheus metrics."""
    states = {}
    for line in text.splitlines():
        if line.startswith("haproxy_server_status{") and line.endswith(" 1"):
            labels = dict(
                part.split("=", 1)
                for part in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            states[labels["server"].strip('"')] = labels["state"].strip('"')
    return states
