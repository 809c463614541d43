"""`Idempotency-Key` on POSTs (IETF draft-ietf-httpapi-idempotency-key-header).

A client that may retry a POST sends a unique key with it. The first request with a key
claims it in the ledger (per credential: a hash of the Authorization header, so two
tokens never share keys) and its answer is kept for 24 hours:

- the same key and the same request (method, path, query, body) → the kept answer again,
  with `Idempotent-Replayed: true`; nothing runs twice;
- the same key with another request → 422 (`idempotency-key-reused`);
- the same key while the first request still runs → 409 (`idempotency-key-in-flight`);
- a key that is not 1 to 255 visible ASCII characters → 422;
- a body over 16 MiB with a key → 413 (the middleware holds the body to compare retries;
  a large import needs no key: imports are idempotent by content).

Answers a retry may change are not kept (5xx, 401, 403, 409, 429): the key is released.

Example:  curl -X POST -H "Idempotency-Key: 4f1c…" -H "Authorization: Bearer $T" \\
          -d '{"trigger": "manual"}' localhost:8000/routing/ACME
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from anyio import to_thread
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dtem.bootstrap import Container
from dtem.domain.errors import DomainError
from dtem.domain.ports.idempotency import IdempotentRequest
from dtem.entrypoints.api.errors import error_response
from dtem.entrypoints.api.problems import problem_response

HEADER = b"idempotency-key"
REPLAYED = "Idempotent-Replayed"
TTL = timedelta(hours=24)
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
NOT_KEPT = {401, 403, 409, 429}  # a retry may be answered differently: run it again
MAX_BODY = 16 * 1024 * 1024  # the most a request with a key may carry (it is held in memory)


class Idempotency:
    """ASGI middleware: POSTs with an `Idempotency-Key` run once per key and credential."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER)
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if not VALID_KEY.fullmatch(key):
            detail = "Idempotency-Key: must be 1 to 255 visible ASCII characters"
            answer = problem_response(
                422, detail, path, "idempotency-key-invalid", error="IdempotencyKeyInvalid"
            )
            await answer(scope, receive, send)
            return
        body = await _read_body(receive, _content_length(scope))
        if body is None:
            detail = f"a request with an Idempotency-Key carries at most {MAX_BODY} bytes"
            answer = problem_response(413, detail, path, "body-too-large", error="BodyTooLarge")
            await answer(scope, receive, send)
            return
        container: Container = scope["app"].state.container
        claim = IdempotentRequest(
            _principal(scope), key, _fingerprint(scope, body), container.clock()
        )
        try:
            held = await to_thread.run_sync(_claim, container, claim)
        except DomainError as exc:  # the ledger is gone: the same 503 as everywhere
            await error_response(exc, path)(scope, receive, send)
            return
        if held is not None:
            await _answer_held(held, claim, path, scope, receive, send)
            return
        await self._run_once(container, claim, body, scope, send)

    async def _run_once(
        self, c: Container, claim: IdempotentRequest, body: bytes, scope: Scope, send: Send
    ) -> None:
        status, content_type, parts = 500, None, bytearray()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def keep(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                content_type = dict(message.get("headers", [])).get(b"content-type", b"").decode()
            elif message["type"] == "http.response.body":
                parts.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, keep)
        finally:
            if status < 500 and status not in NOT_KEPT:
                await to_thread.run_sync(_finish, c, claim, status, content_type, bytes(parts))
            else:
                await to_thread.run_sync(_forget, c, claim)


async def _answer_held(
    held: IdempotentRequest,
    claim: IdempotentRequest,
    path: str,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    answer: Response
    if held.fingerprint != claim.fingerprint:
        detail = "this Idempotency-Key was used with another request (method, path or body)"
        answer = problem_response(
            422, detail, path, "idempotency-key-reused", error="IdempotencyKeyReused"
        )
    elif held.status is None:
        detail = "a request with this Idempotency-Key is still running; retry later"
        answer = problem_response(
            409, detail, path, "idempotency-key-in-flight", {"Retry-After": "1"},
            error="IdempotencyKeyInFlight",
        )  # fmt: skip
    else:
        answer = Response(
            held.body, held.status, {REPLAYED: "true"}, media_type=held.content_type or None
        )
    await answer(scope, receive, send)


def _claim(c: Container, claim: IdempotentRequest) -> IdempotentRequest | None:
    with c.ledger.transaction() as tx:
        return tx.claim_idempotency_key(claim, claim.created_at - TTL)


def _finish(
    c: Container, claim: IdempotentRequest, status: int, content_type: str | None, body: bytes
) -> None:
    with c.ledger.transaction() as tx:
        tx.finish_idempotency_key(claim.principal, claim.key, status, content_type, body)


def _forget(c: Container, claim: IdempotentRequest) -> None:
    with c.ledger.transaction() as tx:
        tx.forget_idempotency_key(claim.principal, claim.key)


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return str(v.decode("latin-1"))
    return None


def _principal(scope: Scope) -> str:
    """Whose key it is: a hash of the credential (a bearer token or a write key)."""
    credential = _header(scope, b"authorization") or ""
    return hashlib.sha256(credential.encode("latin-1")).hexdigest()


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _content_length(scope: Scope) -> int:
    declared = _header(scope, b"content-length") or "0"
    return int(declared) if declared.isdigit() else 0


async def _read_body(receive: Receive, declared: int) -> bytes | None:
    """The whole body, or None (nothing more read) once it is larger than MAX_BODY."""
    if declared > MAX_BODY:
        return None
    body = bytearray()
    while True:
        message = await receive()
        body.extend(message.get("body", b""))
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return bytes(body)
