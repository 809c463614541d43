"""Read CSV, Parquet and JSONL files in batches of columns, with the row number a user sees.

Row numbers: in a CSV the header is row 1, so the first data row is row 2 (what a
spreadsheet shows). JSONL and Parquet have no header: the first record is row 1 (the
line number, for JSONL). CSV cells are read as text (empty cell = ""), so nothing is
guessed by the reader; Parquet and JSONL values keep their types.

>>> batch = SourceBatch(start_row=2, data={"id": ["a", "b"]})
>>> list(batch.rows())
[(2, {'id': 'a'}), (3, {'id': 'b'})]
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
FORMATS |= {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
BATCH_ROWS = 100_000


@dataclass
class SourceBatch:
    """A slice of a file: each column as a list, and the row number of its first row.

    `arrow` holds the same columns as Arrow arrays (when read from a file), so validation
    can parse whole columns at once.
    """

    start_row: int
    data: dict[str, list[Any]] = field(default_factory=dict)
    arrow: dict[str, pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()), []))

    def row(self, index: int) -> dict[str, Any]:
        """The source values of one row of the batch (0-based index)."""
        return {c: values[index] for c, values in self.data.items()}

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, {column: value}) for every row."""
        for i in range(len(self)):
            yield self.start_row + i, self.row(i)


def file_format(path: Path) -> str:
    """`csv`, `parquet` or `jsonl`, from the file name; ValueError for anything else."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r} (use CSV, Parquet, JSONL)")
    return fmt


def sha256_of(path: Path) -> str:
    """The file's SHA-256, recorded with each import batch."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_columns(path: Path) -> list[str]:
    """The file's column names, in file order."""
    fmt = file_format(path)
    if fmt == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh, delimiter=_delimiter(path)), [])
    first = next(read_batches(path, batch_rows=1_000), None)
    return list(first.data) if first else []


def read_batches(path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[SourceBatch]:
    """Yield the file as `SourceBatch`es of about `batch_rows` rows."""
    fmt = file_format(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    reader = {"csv": _csv_batches, "parquet": _parquet_batches, "jsonl": _jsonl_batches}[fmt]
    start = 2 if fmt == "csv" else 1
    for record_batch in reader(path, batch_rows):
        arrow = dict(zip(record_batch.schema.names, record_batch.columns, strict=True))
        batch = SourceBatch(start, record_batch.to_pydict(), arrow)
        if len(batch):
            yield batch
        start += record_batch.num_rows


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _csv_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    header = read_columns(path)
    if not header:
        return
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 24, encoding="utf8"),
        parse_options=pacsv.ParseOptions(delimiter=_delimiter(path), newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    for record_batch in reader:
        yield from _split(record_batch, batch_rows)


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows)


def _jsonl_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    try:
        reader = pajson.open_json(path, read_options=pajson.ReadOptions(block_size=1 << 24))
        for record_batch in reader:
            yield from _split(record_batch, batch_rows)
    except pa.ArrowInvalid as exc:
        raise ValueError(f"{path}: not valid JSON lines: {exc}") from exc


def _split(record_batch: pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    for offset in range(0, record_batch.num_rows, batch_rows):
        yield record_batch.slice(offset, batch_rows)
