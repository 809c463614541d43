"""A Segment-compatible tracking API: point Segment or RudderStack SDKs at DTEM.

`POST /v1/track|page|screen|identify|group|alias|batch`, Basic auth with the source's
write key as user name and an empty password, JSON bodies (optionally gzip) up to
500 KB. A 200 means the calls are committed to the ledger.

Example:  curl -u "$WRITE_KEY:" -H 'Content-Type: application/json' \
          -d '{"userId":"u1","event":"Demo Requested"}' localhost:8000/v1/track
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import zlib
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from dtem.entrypoints.api.deps import ContainerDep
from dtem.services import signals
from dtem.services.signals.messages import (
    Rejected,
    SegmentCall,
    field_errors,
    parse_batch,
    parse_call,
)

MAX_BODY = 500 * 1024  # Segment's batch limit, for the raw and the decompressed body
router = APIRouter(prefix="/v1", tags=["segment"])


class Refused(Exception):
    """A request refused at the edge: its status code and JSON body."""

    def __init__(self, code: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code, self.body = code, {"success": False, "detail": detail, **extra}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="dtem"'} if self.code == 401 else None
        return JSONResponse(self.body, status_code=self.code, headers=headers)


def _fail(code: int, detail: str, **extra: Any) -> Refused:
    return Refused(code, detail, **extra)


def write_key_of(request: Request) -> str:
    """The user name of a Basic authorization header (the password is ignored)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        raise _fail(401, "missing write key: use Basic auth with the write key as user name")
    try:
        user = base64.b64decode(value, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _fail(401, "malformed Basic authorization header") from exc
    if not user:
        raise _fail(401, "missing write key")
    return user


async def read_body(request: Request) -> Any:
    """The JSON document of the request: size-checked, gunzipped, parsed."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise _fail(413, f"body larger than {MAX_BODY} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise _fail(413, f"body larger than {MAX_BODY} bytes")
    data = bytes(raw)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        data = _gunzip(data)
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(400, f"malformed JSON: {exc}") from exc
    except RecursionError as exc:  # deeper than the parser goes: no call can be read
        raise _fail(400, "JSON nested too deeply to read") from exc


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_BODY + 1)
    except zlib.error as exc:
        raise _fail(400, f"body is not valid gzip: {exc}") from exc
    if len(out) > MAX_BODY or inflater.unconsumed_tail:
        raise _fail(413, f"decompressed body larger than {MAX_BODY} bytes")
    if not inflater.eof:
        raise _fail(400, "gzip body is truncated")
    return out


async def _store(
    request: Request, c: ContainerDep, key: str, calls: list[SegmentCall]
) -> signals.Received:
    # The ledger is synchronous; a worker thread keeps the event loop serving. SQLite has
    # one writer at a time and its busy handler backs off unfairly (p99 of seconds under
    # load), so requests queue here in arrival order instead.
    store = functools.partial(
        signals.receive_calls, c.ledger, c.clock, calls, write_key=key, via="api"
    )
    if c.engine.dialect.name != "sqlite":
        return await run_in_threadpool(store)
    state = request.app.state
    if getattr(state, "sqlite_writes", None) is None:
        state.sqlite_writes = asyncio.Lock()  # one per app (and so per event loop)
    async with state.sqlite_writes:
        return await run_in_threadpool(store)


async def _single(request: Request, c: ContainerDep, call_type: str) -> JSONResponse:
    try:
        key = write_key_of(request)
        doc = await read_body(request)
        try:
            call = parse_call(call_type, doc)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise _fail(400, "; ".join(errors), errors=errors) from exc
    except Refused as refused:
        return refused.response()
    got = await _store(request, c, key, [call])
    if got.refused:
        errors = got.refused[0].errors
        return _fail(400, "; ".join(errors), errors=errors).response()
    return JSONResponse({"success": True, "duplicate": bool(got.result.duplicates)})


@router.post("/track", summary="Record an event (Segment track)")
async def track(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "track")


@router.post("/page", summary="Record a page view (Segment page)")
async def page(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "page")


@router.post("/screen", summary="Record a screen view (Segment screen)")
async def screen(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "screen")


@router.post("/identify", summary="Describe a user; a company email links them")
async def identify(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "identify")


@router.post("/group", summary="Link a user to an account (Segment group)")
async def group(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "group")


@router.post("/alias", summary="Accepted for compatibility; ignored")
async def alias(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "alias")


@router.post("/batch", summary="Many calls at once; invalid ones are listed, not stored")
async def batch(request: Request, c: ContainerDep) -> JSONResponse:
    try:
        key = write_key_of(request)
        calls, rejected = _batch_calls(await read_body(request))
    except Refused as refused:
        return refused.response()
    got = await _store(request, c, key, calls) if calls else None
    if got is not None:
        rejected = _with_refused(rejected, len(calls), got.refused)
    kept = len(calls) - (len(got.refused) if got else 0)
    body = {
        "success": kept > 0,
        "accepted": got.accepted if got else 0,
        "duplicates": len(got.result.duplicates) if got else 0,
        "rejected": [{"index": r.index, "errors": r.errors} for r in rejected],
    }
    if not kept:  # nothing valid (an empty batch included): the SDK must not think it sent
        body["detail"] = "the batch has no valid call"
    code = status.HTTP_200_OK if kept else status.HTTP_400_BAD_REQUEST
    return JSONResponse(body, status_code=code)


def _with_refused(
    rejected: list[Rejected], n_calls: int, refused: list[Rejected]
) -> list[Rejected]:
    """The parse rejections and the calls refused when stored (indexed among the valid
    calls), all by their index in the batch."""
    skipped = {r.index for r in rejected}
    valid = [i for i in range(n_calls + len(rejected)) if i not in skipped]
    moved = [Rejected(valid[r.index], r.errors) for r in refused]
    return sorted([*rejected, *moved], key=lambda r: r.index)


def _batch_calls(doc: Any) -> tuple[list[SegmentCall], list[Rejected]]:
    try:
        return parse_batch(doc)
    except ValueError as exc:
        raise _fail(400, str(exc)) from exc
