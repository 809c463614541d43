"""Cursor pagination shared by every list of the API.

A list answers `{"items": [...], "next_cursor": "..." | null}`. `?limit=` (1–500, default
50) bounds a page; `?cursor=` is the `next_cursor` of the previous page: an opaque string
(base64url of the last row's sort key) that the ledger turns into
`WHERE key > :after ORDER BY key LIMIT :limit + 1`. A row inserted meanwhile never makes
a page repeat or skip a row. A cursor that is not one of ours is a 422 naming `cursor`.

    page = PageParams(limit=2, cursor=None)
    rows = service.list_things(ledger, after=page.after(str), limit=page.fetch)
    return page.of(rows, key=lambda r: r.external_id, item=ThingOut.of)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")
KeyT = TypeVar("KeyT", int, str)


def _iso_text(value: object) -> object:
    """A time in a query is ISO 8601 text (pydantic alone would read `0.5` as a Unix time)."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                "an ISO 8601 time with its offset, e.g. 2027-01-31T00:00:00Z"
            ) from None
    return value


# A query parameter's time: RFC 3339 (`format: date-time`), with an offset or Z.
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, and the cursor of the next (null on the last page)."""

    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this page is the last."
    )


def encode_cursor(key: int | str) -> str:
    """The opaque cursor of a sort key. `encode_cursor(42)` → `'eyJrIjo0Mn0'`."""
    raw = json.dumps({"k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type[KeyT]) -> KeyT:
    """The sort key in `cursor`; a 422 naming the `cursor` parameter when it is not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)["k"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        key = None
    if type(key) is not kind or (isinstance(key, int) and not -(2**63) <= key < 2**63):
        raise invalid_cursor(cursor)
    return key


def invalid_cursor(cursor: str) -> RequestValidationError:
    """The 422 of a cursor that is not one of this list's (it names the parameter)."""
    return RequestValidationError(
        [
            {
                "loc": ("query", "cursor"),
                "msg": "not a cursor of this list: pass the next_cursor of its previous page",
                "type": "value_error",
                "input": cursor,
            }
        ]
    )


class PageParams:
    """`limit` and `cursor` of a list request (a FastAPI dependency)."""

    def __init__(
        self,
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="At most this many items.")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Query(max_length=512, description="The `next_cursor` of the previous page."),
        ] = None,
    ) -> None:
        self.limit = limit
        self.cursor = cursor

    @property
    def fetch(self) -> int:
        """Rows to ask the ledger for: one more than a page tells whether another follows."""
        return self.limit + 1

    def after(self, kind: type[KeyT]) -> KeyT | None:
        """The key the previous page ended on (None on the first page)."""
        return None if self.cursor is None else decode_cursor(self.cursor, kind)

    def of(
        self,
        rows: Sequence[RowT],
        key: Callable[[RowT], int | str],
        item: Callable[[RowT], ItemT],
    ) -> Page[ItemT]:
        """The page of `rows` (fetched with `fetch`) and the cursor after its last row."""
        shown = rows[: self.limit]
        more = len(rows) > self.limit and shown
        return Page[ItemT](
            items=[item(r) for r in shown],
            next_cursor=encode_cursor(key(shown[-1])) if more else None,
        )


PageDep = Annotated[PageParams, Depends()]
