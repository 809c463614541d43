"""Why a file could not be read: the line, the reason and what to try (`FileUnreadable`).

The fast readers (Arrow) stop at the first problem without saying where it is. These
functions run only after such a failure: they re-read the file slowly, with Python's own
decoders and parsers, to find the first line that is at fault.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
>>> _ = p.write_bytes(b"id,name\\nA1,Caf\\xe9\\n")
>>> str(not_text(p, "utf-8"))
'a.csv:2: not UTF-8 text (byte 0xe9) (try --encoding latin-1 or cp1252, or save the file as UTF-8)'
"""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

from dtem.domain.errors import FileUnreadable

CHUNK = 1 << 20
OTHER_ENCODINGS = "latin-1 or cp1252"


def check_file(path: Path) -> None:
    """`FileUnreadable` for a path that is missing, a folder, or an empty file."""
    if not path.exists():
        raise FileUnreadable(str(path), "no such file")
    if path.is_dir():
        raise FileUnreadable(str(path), "is a folder, not a file")
    if path.stat().st_size == 0:
        raise FileUnreadable(str(path), "the file is empty")


def sniff_encoding(path: Path, given: str | None) -> str:
    """The encoding to read with: the one given, else UTF-16 when the file starts with its
    byte-order mark, else UTF-8 (a UTF-8 byte-order mark is skipped)."""
    if given:
        try:
            return codecs.lookup(given).name
        except LookupError:
            raise FileUnreadable(str(path), f"unknown encoding {given!r}") from None
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"


def not_text(path: Path, encoding: str) -> FileUnreadable:
    """Where the file stops being `encoding` text (the first byte that does not decode)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, newlines = 0, 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = exc.object[exc.start : exc.start + 1]
                line = newlines + exc.object[: exc.start].count(b"\n") + 1
                return _not_text(path, encoding, line, f" (byte 0x{bad.hex()})" if bad else "")
            offset += len(chunk)
            newlines += chunk.count(b"\n")
    return _not_text(path, encoding, None, "")


def _not_text(path: Path, encoding: str, line: int | None, byte: str) -> FileUnreadable:
    name = "UTF-8" if encoding.startswith("utf-8") or encoding == "utf_8" else encoding
    hint = f"try --encoding {OTHER_ENCODINGS}, or save the file as UTF-8"
    if name != "UTF-8":
        hint = "try another --encoding, or save the file as UTF-8"
    return FileUnreadable(path.name, f"not {name} text{byte}", line, hint)


def csv_problem(path: Path, encoding: str, delimiter: str, fallback: str) -> FileUnreadable:
    """The first record whose column count differs from the header's, with its line."""
    with path.open(newline="", encoding=encoding, errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, [])
        start, row = reader.line_num + 1, 2
        try:
            for record in reader:
                if record and len(record) != len(header):
                    return _column_count(path, start, row, len(record), len(header), reader)
                start, row = reader.line_num + 1, row + 1
        except csv.Error as exc:
            return FileUnreadable(path.name, f"row {row} cannot be parsed ({exc})", start, QUOTE)
    return FileUnreadable(path.name, f"not readable as CSV: {fallback}")


QUOTE = 'check the quotes: a field that opens a " must close it'


def _column_count(
    path: Path, line: int, row: int, got: int, want: int, reader: object
) -> FileUnreadable:
    spans = getattr(reader, "line_num", line) > line  # the record ran on to later lines
    reason = f"row {row} has {got} column(s), the header has {want}"
    return FileUnreadable(path.name, reason, line, QUOTE if spans else "")


def jsonl_problem(path: Path, encoding: str, fallback: str) -> FileUnreadable:
    """The first line that is not one JSON object, with its line number."""
    with path.open(encoding=encoding, errors="replace") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                reason = f"not valid JSON ({getattr(exc, 'msg', 'too deeply nested')})"
                return FileUnreadable(path.name, reason, number)
            if not isinstance(value, dict):
                return FileUnreadable(path.name, "not a JSON object ({...})", number)
    hint = "every line must be one JSON object whose fields keep their types"
    return FileUnreadable(path.name, f"not readable as JSON lines: {fallback}", hint=hint)
