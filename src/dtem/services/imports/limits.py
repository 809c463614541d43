r"""Text the ledger can hold: no NUL character, no more characters than the column has.

SQLite would store either; PostgreSQL refuses both and would fail the whole import. So
imports refuse them row by row, the same on every database. The lengths are the columns'
(`tables.py`), declared on each field in `specs.py`; a contract test keeps them equal.

>>> bad = []
>>> values = ["ok", "a\x00b", "x" * 9]
>>> check_text(values, 8, values, lambda *e: bad.append(e))
>>> [(i, reason) for i, _, reason in bad]  # doctest: +NORMALIZE_WHITESPACE
[(1, 'contains a NUL character (\\x00), which no text field may hold'),
 (2, 'too long: 9 characters, at most 8')]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

TEXT_KINDS = frozenset({"text", "category", "country", "domain", "email", "stage", "actor_kind"})
ATTRIBUTE_MAX_LENGTH = 1024  # account_attributes.value
NUL = "\x00"


def plain_text(column: pa.Array | None, limit: int | None) -> bool:
    """True when the raw Arrow column has no NUL and nothing near the limit: no cell needs a
    look (parsing never lengthens text beyond a country name's full form)."""
    if column is None or not pa.types.is_string(column.type):
        return False
    if pc.any(pc.match_substring(column, NUL)).as_py():
        return False
    longest = pc.max(pc.utf8_length(column)).as_py() or 0
    return limit is None or longest + 16 <= limit


def check_text(
    out: list[Any], limit: int | None, raw: list[Any], fail: Callable[[int, Any, str], None]
) -> None:
    """Refuse NUL characters and text longer than the ledger column, the same on SQLite
    (which would store them) and PostgreSQL (which would fail the whole import)."""
    for i, value in enumerate(out):
        if value.__class__ is not str:
            continue
        if NUL in value:
            fail(i, raw[i], "contains a NUL character (\\x00), which no text field may hold")
        elif limit is not None and len(value) > limit:
            fail(i, raw[i], f"too long: {len(value)} characters, at most {limit}")
