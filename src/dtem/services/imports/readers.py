"""Read CSV, Parquet and JSONL files in batches of columns, with the row number a user sees.

Row numbers: in a CSV the header is row 1, so the first data row is row 2 (what a
spreadsheet shows). JSONL and Parquet have no header: the first record is row 1 (the
line number, for JSONL). CSV cells are read as text (empty cell = ""), so nothing is
guessed by the reader; Parquet and JSONL values keep their types.

Text files are UTF-8 unless an encoding is given (`--encoding latin-1`) or the file starts
with a UTF-16 byte-order mark. A file that cannot be read raises `FileUnreadable` naming
the line at fault and what to try (see `diagnose`).

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

from dtem.domain.errors import ArgumentInvalid, FileUnreadable
from dtem.services.imports import diagnose

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
    """`csv`, `parquet` or `jsonl`, from the file name; `ArgumentInvalid` for anything else."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        kinds = "CSV (.csv, .tsv), Parquet (.parquet) or JSON lines (.jsonl, .ndjson)"
        raise ArgumentInvalid(f"{path}: unsupported file type {path.suffix!r}; use {kinds}")
    return fmt


def sha256_of(path: Path) -> str:
    """The file's SHA-256, recorded with each import batch."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_columns(path: Path, encoding: str | None = None) -> list[str]:
    """The file's column names, in file order (`FileUnreadable` if it has none)."""
    fmt = file_format(path)
    diagnose.check_file(path)
    if fmt == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    if fmt == "csv":
        text = diagnose.sniff_encoding(path, encoding)
        try:
            with path.open(newline="", encoding=text) as fh:
                header = next(csv.reader(fh, delimiter=_delimiter(path)), [])
        except UnicodeDecodeError:
            raise diagnose.not_text(path, text) from None
    else:
        first = next(read_batches(path, batch_rows=1_000, encoding=encoding), None)
        header = list(first.data) if first else []
    if not header:
        raise FileUnreadable(str(path), "the file has no header and no rows")
    return header


def read_batches(
    path: Path, batch_rows: int = BATCH_ROWS, encoding: str | None = None
) -> Iterator[SourceBatch]:
    """Yield the file as `SourceBatch`es of about `batch_rows` rows."""
    fmt = file_format(path)
    diagnose.check_file(path)
    reader = {"csv": _csv_batches, "parquet": _parquet_batches, "jsonl": _jsonl_batches}[fmt]
    start = 2 if fmt == "csv" else 1
    for record_batch in reader(path, batch_rows, encoding):
        arrow = dict(zip(record_batch.schema.names, record_batch.columns, strict=True))
        batch = SourceBatch(start, record_batch.to_pydict(), arrow)
        if len(batch):
            yield batch
        start += record_batch.num_rows


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _csv_batches(path: Path, batch_rows: int, encoding: str | None) -> Iterator[pa.RecordBatch]:
    header = read_columns(path, encoding)
    text = diagnose.sniff_encoding(path, encoding)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 24, encoding=_arrow_name(text)),
            parse_options=pacsv.ParseOptions(delimiter=_delimiter(path), newlines_in_values=True),
            convert_options=convert,
        )
        for record_batch in reader:
            yield from _split(record_batch, batch_rows)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _csv_unreadable(path, text, exc) from None


def _csv_unreadable(path: Path, encoding: str, exc: Exception) -> FileUnreadable:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in message:
        return diagnose.not_text(path, encoding)
    return diagnose.csv_problem(path, encoding, _delimiter(path), message)


def _arrow_name(encoding: str) -> str:
    """Arrow reads UTF-8 natively (and skips its byte-order mark); others are transcoded."""
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _parquet_batches(
    path: Path, batch_rows: int, _encoding: str | None
) -> Iterator[pa.RecordBatch]:
    try:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileUnreadable(str(path), f"not a readable Parquet file ({exc})") from None


def _jsonl_batches(path: Path, batch_rows: int, encoding: str | None) -> Iterator[pa.RecordBatch]:
    text = diagnose.sniff_encoding(path, encoding)
    source = pa.input_stream(str(path))
    if _arrow_name(text) != "utf8":
        source = pa.transcoding_input_stream(source, text, "utf-8")
    try:
        reader = pajson.open_json(source, read_options=pajson.ReadOptions(block_size=1 << 24))
        for record_batch in reader:
            yield from _split(record_batch, batch_rows)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in message or "UTF-8" in message:
            raise diagnose.not_text(path, text) from None
        raise diagnose.jsonl_problem(path, text, message) from None


def _split(record_batch: pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    for offset in range(0, record_batch.num_rows, batch_rows):
        yield record_batch.slice(offset, batch_rows)
