"""A bounded load generator: constant GET requests through the load balancer.

Each worker thread keeps one connection (reconnecting after an error), paces
itself to ``rate / workers`` requests per second and counts every answer.
A request fails when it raises or answers other than 2xx. The load stops
when asked *and* at least ``min_requests`` were sent, or at ``max_seconds``,
whichever comes first: it is bounded in time whatever happens.

It refuses any host outside the network it is given (the lab's subnet):
load goes only where it is allowed to go.

The drill playbooks run it on the controller as a script (``python3
loadgen.py --host ADDRESS --network CIDR --stop-file PATH``): it loads until
the stop file appears (and ``--min-requests`` were sent) or ``--max-seconds``
pass, then prints its report as one JSON object. The tests import ``Load``.
"""

# ruff: noqa: INP001 - a script the drill playbooks run, not a package

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import ssl
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self

_OK = range(200, 300)


@dataclass(frozen=True)
class LoadReport:
    """What the load saw: counts, answers by status, errors by kind, latencies."""

    requests: int
    failed: int
    statuses: dict[int, int]
    errors: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    seconds: float

    @property
    def rate(self) -> float:
        """Return the requests per second over the whole load."""
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        """Return the report as one line for people."""
        return (
            f"{self.requests} requests, {self.failed} failed, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, {self.rate:.0f} req/s over {self.seconds:.0f} s, "
            f"statuses {self.statuses}, errors {self.errors}"
        )


@dataclass
class Load:
    """Constant load on one host, bounded in time; a context manager."""

    host: str
    subnet: str
    path: str = "/"
    tls: bool = True
    keepalive: bool = True
    workers: int = 8
    rate: float = 200.0
    min_requests: int = 10_000
    max_seconds: float = 900.0
    timeout: float = 10.0
    _latencies: list[float] = field(default_factory=list)
    _statuses: dict[int, int] = field(default_factory=dict)
    _errors: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _started: float = 0.0

    def __post_init__(self) -> None:
        """Refuse a host outside the allowed network."""
        if ipaddress.ip_address(self.host) not in ipaddress.ip_network(self.subnet):
            msg = f"{self.host} is not a lab address of {self.subnet}"
            raise ValueError(msg)

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls:
            # The lab's certificate is self-signed; only lab addresses are reached.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(
                self.host, 443, timeout=self.timeout, context=context
            )
        return http.client.HTTPConnection(self.host, 80, timeout=self.timeout)

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
        """Start the workers."""
        self._started = time.monotonic()
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"load-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        """Ask the workers to stop, and wait for them."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.max_seconds + 30)

    def report(self) -> LoadReport:
        """Return what the load saw so far."""
        with self._lock:
            latencies = sorted(self._latencies)
            statuses = dict(self._statuses)
            errors = dict(self._errors)
        count = len(latencies)

        def percentile(p: float) -> float:
            return latencies[min(count - 1, int(p * count))] * 1000 if count else 0.0

        failed = sum(n for s, n in statuses.items() if s not in _OK) + sum(errors.values())
        return LoadReport(
            requests=count + sum(errors.values()),
            failed=failed,
            statuses=statuses,
            errors=errors,
            p50_ms=percentile(0.50),
            p95_ms=percentile(0.95),
            p99_ms=percentile(0.99),
            max_ms=latencies[-1] * 1000 if count else 0.0,
            seconds=time.monotonic() - self._started,
        )


def main(argv: list[str] | None = None) -> int:
    """Load until the stop file appears or the time bound passes; print the report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="address of the load balancer")
    parser.add_argument("--network", required=True, help="the only network load may go to")
    parser.add_argument("--stop-file", type=Path, help="stop once this exists (required)")
    parser.add_argument("--path", default="/")
    parser.add_argument("--plain-http", action="store_true", help="port 80 instead of HTTPS")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second in all")
    parser.add_argument("--min-requests", type=int, default=1000)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--check", action="store_true", help="check the arguments and exit")
    args = parser.parse_args(argv)
    try:
        load = Load(
            host=args.host,
            subnet=args.network,
            path=args.path,
            tls=not args.plain_http,
            workers=args.workers,
            rate=args.rate,
            min_requests=args.min_requests,
            max_seconds=args.max_seconds,
            timeout=args.timeout,
        )
    except ValueError as exc:
        parser.error(f"{exc}: give --network the network the load may go to")
    if args.check:
        return 0
    if args.stop_file is None:
        parser.error("--stop-file is required: the load stops once that file exists")
    with load:
        deadline = time.monotonic() + args.max_seconds
        while not args.stop_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    report = load.report()
    json.dump({**asdict(report), "rate": round(report.rate, 1)}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
