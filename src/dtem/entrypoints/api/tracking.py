"""Reading a tracking request: its write key and its JSON body, as Segment's clients send them.

Server libraries authenticate with Basic auth (the write key as user name). analytics.js
in a browser avoids a CORS pre-flight: it posts a `text/plain` body that carries the key
in a `writeKey` field, with no Authorization header. Both forms are read here; the key
field is removed from the document before it is validated as calls.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from dtem.entrypoints.api.problems import problem_response

MAX_BODY = 500 * 1024  # Segment's batch limit, for the raw and the decompressed body
WRITE_KEY_FIELD = "writeKey"


KINDS = {400: "tracking-call-invalid", 401: "write-key-missing", 413: "body-too-large"}


class Refused(Exception):
    """A request refused at the edge: its status code and problem (with `success: false`,
    which Segment's clients read)."""

    def __init__(self, code: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code, self.detail, self.extra = code, detail, extra

    def response(self, instance: str) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="dtem"'} if self.code == 401 else None
        return problem_response(
            self.code, self.detail, instance, KINDS.get(self.code), headers,
            success=False, **self.extra,
        )  # fmt: skip


async def key_and_body(request: Request) -> tuple[str, Any]:
    """The write key (Basic auth, else the body's `writeKey`) and the document without it."""
    header = write_key_of(request) if request.headers.get("authorization") else None
    doc = await read_body(request)
    has_key = isinstance(doc, dict) and WRITE_KEY_FIELD in doc
    in_body = doc.pop(WRITE_KEY_FIELD) if has_key else None
    if has_key and not isinstance(in_body, str):
        raise Refused(400, f"{WRITE_KEY_FIELD}: must be a string", errors=[
            f"{WRITE_KEY_FIELD}: must be a string"
        ])  # fmt: skip
    key = header or (in_body if isinstance(in_body, str) else None)
    if not key:
        raise Refused(
            401, "missing write key: use Basic auth with the write key as user name, or writeKey"
        )
    return key, doc


def write_key_of(request: Request) -> str:
    """The user name of a Basic authorization header (the password is ignored)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Refused(401, "missing write key: use Basic auth with the write key as user name")
    try:
        user = base64.b64decode(value, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Refused(401, "malformed Basic authorization header") from exc
    if not user:
        raise Refused(401, "missing write key")
    return user


async def read_body(request: Request) -> Any:
    """The JSON document of the request: size-checked, gunzipped, parsed.

    The content type is not checked: browsers send JSON as `text/plain`.
    """
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise Refused(413, f"body larger than {MAX_BODY} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Refused(413, f"body larger than {MAX_BODY} bytes")
    data = bytes(raw)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        data = _gunzip(data)
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Refused(400, f"malformed JSON: {exc}") from exc
    except RecursionError as exc:  # deeper than the parser goes: no call can be read
        raise Refused(400, "JSON nested too deeply to read") from exc


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_BODY + 1)
    except zlib.error as exc:
        raise Refused(400, f"body is not valid gzip: {exc}") from exc
    if len(out) > MAX_BODY or inflater.unconsumed_tail:
        raise Refused(413, f"decompressed body larger than {MAX_BODY} bytes")
    if not inflater.eof:
        raise Refused(400, "gzip body is truncated")
    return out
