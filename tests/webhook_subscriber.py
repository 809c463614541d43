"""A local webhook subscriber for tests: a threaded HTTP server on an ephemeral port.

It records every request (headers and raw body) and answers with the next status of its
script (then the last one again); `hang` makes it wait that many seconds before answering,
until `release()` lets every waiting request go.

    with Subscriber(statuses=[500, 204]) as sub:
        ...  # sub.url, then sub.received
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Subscriber:
    def __init__(self, statuses: list[int] | None = None, hang: float = 0.0) -> None:
        self.statuses = list(statuses or [204])
        self.hang = hang
        self.received: list[Received] = []
        self.arrived = threading.Event()  # set by the first request
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def release(self) -> None:
        self._release.set()

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.received.append(Received(path, headers, body))
            status = self.statuses[min(len(self.received), len(self.statuses)) - 1]
        self.arrived.set()
        if self.hang:
            self._release.wait(self.hang)
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = owner._answer(self.path, dict(self.headers.items()), body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the dispatcher gave up waiting and closed the connection

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet

        return Handler

    def __enter__(self) -> Subscriber:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
