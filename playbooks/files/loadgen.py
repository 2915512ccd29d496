"""A bounded load generator for the lab: constant GET requests through the load balancer.

Each worker thread keeps one connection (reconnecting after an error), paces
itself to ``rate / workers`` requests per second and counts every answer.
A request fails when it raises or answers other than 2xx. The load stops
when asked *and* at least ``min_requests`` were sent, or at ``max_seconds``,
whichever comes first: it is bounded in time whatever happens.

Lab addresses only: the constructor refuses any other host.
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Self


@dataclass(frozen=True)
class LoadReport:
    requests: int
    failed: int
    statuses: dict[int, int]
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.requests} requests, {self.failed} failed, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, {self.rate:.0f} req/s over {self.seconds:.0f} s, "
            f"statuses {self.statuses}, errors {self.errors}"
        )


@dataclass
class Load:
    host: str
    subnet: str
    path: str = "/"
    tls: bool = True
    keepalive: bool = True
    workers: int = 8
    rate: float = 200.0
    min_requests: int = 10_000
    max_seconds: float = 900.0
    _latencies: list[float] = field(default_factory=list)
    _statuses: dict[int, int] = field(default_factory=dict)
    _errors: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _started: float = 0.0

    def __post_init__(self) -> None:
        if ipaddress.ip_address(self.host) not in ipaddress.ip_network(self.subnet):
            msg = f"{self.host} is not a lab address of {self.subnet}"
            raise ValueError(msg)

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls:
            # The lab's certificate is self-signed; only lab addresses are reached.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, 443, timeout=10, context=context)
        return http.client.HTTPConnection(self.host, 80, timeout=10)

    def _count(self) -> int:
        with self._lock:
            return len(self._latencies) + sum(self._errors.values())

    def _done(self) -> bool:
        elapsed = time.monotonic() - self._started
        if elapsed >= self.max_seconds:
            return True
        return self._stop.is_set() and self._count() >= self.min_requests

    def _work(self) -> None:
        interval = self.workers / self.rate
        connection = self._connect()
        next_at = time.monotonic()
        while not self._done():
            started = time.monotonic()
            try:
                headers = {} if self.keepalive else {"Connection": "close"}
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                with self._lock:
                    self._latencies.append(time.monotonic() - started)
                    self._statuses[status] = self._statuses.get(status, 0) + 1
                if response.will_close or not self.keepalive:
                    connection.close()
                    connection = self._connect()
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    name = type(exc).__name__
                    self._errors[name] = self._errors.get(name, 0) + 1
                connection.close()
                connection = self._connect()
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        connection.close()

    def __enter__(self) -> Self:
        self._started = time.monotonic()
        for _ in range(self.workers):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.max_seconds + 30)

    def report(self) -> LoadReport:
        with self._lock:
            latencies = sorted(self._latencies)
            statuses = dict(self._statuses)
            errors = dict(self._errors)
        count = len(latencies)

        def percentile(p: float) -> float:
            return latencies[min(count - 1, int(p * count))] * 1000 if count else 0.0

        failed = sum(n for s, n in statuses.items() if not 200 <= s < 300) + sum(errors.values())
        return LoadReport(
            requests=count + sum(errors.values()),
            failed=failed,
            statuses=statuses,
            errors=errors,
            p50_ms=percentile(0.50),
            p99_ms=percentile(0.99),
            seconds=time.monotonic() - self._started,
        )
