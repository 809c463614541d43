"""A client that leaves before its body is read gets no traceback in the server's log."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path

import pytest
from starlette.types import Message

from dtem.bootstrap import build
from dtem.config import Settings
from dtem.entrypoints.api.app import create_app


def test_a_client_leaving_mid_body_is_logged_at_info_not_as_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    c = build(Settings(), f"sqlite:///{tmp_path}/ledger.db", create=True)
    app = create_app(c)
    key = base64.b64encode(b"some-write-key:").decode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/batch", "raw_path": b"/v1/batch", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        "headers": [(b"content-type", b"application/json"),
                    (b"authorization", f"Basic {key}".encode())],
    }  # fmt: skip
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"batch": [{"type": "tra', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO, logger="dtem.api"):
        asyncio.run(app(scope, receive, send))
    assert [r.levelname for r in caplog.records if r.name == "dtem.api"] == ["INFO"]
    assert "client disconnected during POST /v1/batch" in caplog.text
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere
    assert sent == []  # nobody is listening: nothing is sent
    c.engine.dispose()
