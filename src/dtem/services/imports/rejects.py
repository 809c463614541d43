"""The rejects file of an `--on-error skip` import: the bad rows as they were, and why.

One line per rejected row: `row`, `field` and `reason` (several errors in one row are
joined with "; "), then the row's source columns unchanged, so the file can be fixed
and imported again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dtem.domain.errors import RowError
from dtem.services.imports.readers import read_batches


def rejects_path(source: Path) -> Path:
    """`accounts.csv` → `accounts.rejects.csv`, next to the input."""
    return source.with_name(f"{source.stem}.rejects.csv")


def write_rejects(source: Path, errors: Iterable[RowError], encoding: str | None = None) -> Path:
    """Write the rejects CSV for `source`; return its path."""
    by_row: dict[int, list[RowError]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(e)
    rows = source_rows(source, set(by_row), encoding)
    columns = list(next(iter(rows.values()), {}))
    out = rejects_path(source)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "field", "reason", *columns])
        for row, errs in sorted(by_row.items()):
            values = rows.get(row, {})
            writer.writerow(
                [
                    row,
                    "; ".join(dict.fromkeys(e.field for e in errs)),
                    "; ".join(f"{e.field}: {e.reason}" for e in errs),
                    *(_cell(values.get(c)) for c in columns),
                ]
            )
    return out


def source_rows(
    source: Path, wanted: set[int], encoding: str | None = None
) -> dict[int, dict[str, Any]]:
    """The source values of the given row numbers (re-reads the file; rejects are few)."""
    found: dict[int, dict[str, Any]] = {}
    for batch in read_batches(source, encoding=encoding):
        end = batch.start_row + len(batch)
        for row in (r for r in wanted if batch.start_row <= r < end):
            found[row] = batch.row(row - batch.start_row)
    return found


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
