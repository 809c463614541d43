"""The webhook dispatcher that `dtem serve` runs beside the API, one per worker process.

It is a thread of its own: requests never wait for it and it never runs inside one. Its
claims are exclusive, so several workers (or `dtem webhooks deliver` processes) share the
outbox without delivering an event twice. `DTEM_WEBHOOK_DISPATCH=false` (or `dtem serve
--no-webhooks`) leaves delivery to a separate `dtem webhooks deliver`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from dtem.bootstrap import Container, webhook_dispatcher


def dispatching(container: Container) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that runs the dispatcher from start-up to shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        dispatcher = webhook_dispatcher(container)
        poll = container.settings.webhook_poll_seconds
        worker = threading.Thread(
            target=dispatcher.run, args=(stop, poll), name="webhook-dispatcher", daemon=True
        )
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join(container.settings.webhook_timeout_seconds * 3)

    return lifespan
