"""Raw DB-API statements for the hot incremental-scoring path.

SQLAlchemy Core spends ~50 µs per row building and type-processing parameters and
~0.5 ms per statement in compilation and result setup; at thousands of rows per
delivery that was most of the ingest time. `Driver` runs plain SQL on the
transaction's own DB-API connection (same transaction, same locks), with `executemany`
for writes and one parameter style written as `?`.

Datetimes follow SQLAlchemy's storage exactly: on SQLite a `DateTime` is the text
`YYYY-MM-DD HH:MM:SS.ffffff` (UTC wall time here); PostgreSQL takes aware datetimes.

    d = Driver(tx.conn)
    d.many("INSERT INTO t (a, at) VALUES (?, ?)", [(1, d.ts(now))])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from dtem.domain.clock import as_utc

CHUNK = 500  # ids per IN (...): under SQLite's bound-parameter limit
_fromiso = datetime.fromisoformat


@lru_cache(maxsize=32)
def _pg_insert(table: str, columns: tuple[tuple[str, str], ...], tail: str) -> str:
    """`INSERT ... SELECT ... FROM unnest(%b::t[], ...)`; JSON travels as text.

    Arrays travel in binary (`%b`): psycopg's text format quotes every element with a
    regular expression, which cost more than the insert itself.
    """
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"%b::{'text' if typ == 'json' else typ}[]" for _, typ in columns)
    picks = ", ".join(f"c{i}::json" if t == "json" else f"c{i}" for i, (_, t) in enumerate(columns))
    alias = ", ".join(f"c{i}" for i in range(len(columns)))
    return (
        f"INSERT INTO {table} ({names}) SELECT {picks} FROM unnest({arrays}) AS u({alias}) {tail}"
    )


def _pg_array(typ: str, values: Sequence[Any]) -> list[Any]:
    """One column as a list for a PostgreSQL array (floats as floats: 1 and 2.5 mix)."""
    if typ == "float8":
        return [None if v is None else float(v) for v in values]
    return list(values)


@lru_cache(maxsize=64)
def _marks(n: int, mark: str) -> str:
    return ", ".join([mark] * n)


class Driver:
    """Plain SQL on the DB-API connection under a SQLAlchemy `Connection`."""

    def __init__(self, conn: Connection) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        self.cursor: Any = conn.connection.cursor()

    def sql(self, text: str) -> str:
        """`?` placeholders in the driver's style (psycopg wants `%s`).

        The text must not contain a literal `?` or `%`.
        """
        return text if self.sqlite else text.replace("?", "%s")

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        """`executemany` (psycopg pipelines it; sqlite3 steps one prepared statement)."""
        if rows:
            self.cursor.executemany(self.sql(text), rows)

    def insert(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[Sequence[Any]],
        tail: str = "",
    ) -> list[Any]:
        """Insert `rows` (values in `columns` order) and return what `tail` RETURNs.

        `columns` are (name, PostgreSQL type) pairs. On PostgreSQL this is ONE statement
        over `unnest` of one array per column (a row-by-row executemany waits on the
        server per row); on SQLite an executemany, or with RETURNING a multi-row VALUES
        (then `rows` must fit its 32,766 parameters). `tail`: `ON CONFLICT ...`, `RETURNING ...`.
        """
        if not rows:
            return []
        if self.sqlite:
            names = ", ".join(name for name, _ in columns)
            if "RETURNING" not in tail:  # one prepared statement, stepped per row
                self.many(
                    f"INSERT INTO {table} ({names}) VALUES ({_marks(len(columns), '?')}) {tail}",
                    rows,
                )
                return []
            values = ", ".join([f"({_marks(len(columns), '?')})"] * len(rows))
            flat = [v for r in rows for v in r]
            return self.rows(f"INSERT INTO {table} ({names}) VALUES {values} {tail}", flat)
        cols = list(zip(*rows, strict=True))
        arrays = [_pg_array(typ, col) for (_, typ), col in zip(columns, cols, strict=True)]
        text = _pg_insert(table, tuple(columns), tail)
        self.cursor.execute(text, arrays)
        return list(self.cursor.fetchall()) if self.cursor.description else []

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        self.cursor.execute(self.sql(text), params)
        return list(self.cursor.fetchall())

    def rows_in(self, text: str, ids: Sequence[Any]) -> Iterator[Any]:
        """Rows of `text` whose `{ids}` is filled with the ids, a chunk per statement.

        `text` holds `IN ({ids})`; on PostgreSQL it becomes `= ANY(%s)` with one array.
        """
        items = sorted(ids)
        if not self.sqlite:
            any_of = text.replace("IN ({ids})", "= ANY(%b)")  # a binary array, as in insert
            self.cursor.execute(any_of, (items,))
            yield from self.cursor.fetchall()
            return
        for i in range(0, len(items), CHUNK):
            chunk = items[i : i + CHUNK]
            yield from self.rows(text.format(ids=_marks(len(chunk), "?")), chunk)

    def ts(self, value: datetime | None) -> Any:
        """A datetime as the driver stores it (None stays None)."""
        if value is None or not self.sqlite:
            return value
        if value.tzinfo is not None:  # isoformat is ~10x cheaper than strftime
            value = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds")

    def read_ts(self, value: Any) -> datetime:
        """A stored datetime back as aware UTC."""
        if isinstance(value, str):
            return _fromiso(value).replace(tzinfo=UTC)
        return as_utc(value)


# pg_advisory_xact_lock's first key for "next number" allocations ('next').
_NEXT_NUMBER_SPACE = 0x6E657874
POLICY_VERSIONS, ECONOMICS_VERSIONS = 1, 2  # the second key: which counter


def lock_next_number(conn: Connection, counter: int) -> None:
    """Serialise a `max + 1` allocation (policy versions, economics versions) until the
    transaction ends. PostgreSQL: a transaction-long advisory lock, taken before the read
    of the maximum, so two writers never pick the same number (one waits for the other's
    commit, then reads the new maximum). SQLite's BEGIN IMMEDIATE already made this
    transaction the only writer."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (_NEXT_NUMBER_SPACE, counter))
