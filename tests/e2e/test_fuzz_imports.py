"""Fuzzed import files through the real CLI: an answer or a refusal, never a traceback.

Each example writes one CSV or JSONL file — DTEM column names (sometimes with unknown
or missing ones), cells holding anything (NUL, quotes, newlines, huge numbers, dates
in year 9999, non-UTF-8 bytes), in UTF-8, Latin-1 or UTF-16 — and runs `dtem import
<kind> FILE` in-process. The command must finish with a documented exit code (0 done,
2 unreadable file, 3 invalid rows, 4 unknown reference) and a message; a row refusal
names its row and field. The number of examples is bounded (`max_examples`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dtem.entrypoints.cli.app import app
from dtem.services.imports.specs import SPECS

KINDS = ("accounts", "reps", "opportunities", "activities", "signals")
ROW_REFUSAL = re.compile(r":\d+: field '[^']*'")  # file.csv:12: field 'employees' = …

cells = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
    st.sampled_from(
        ["", "\x00", '"', '""x', "a,b", "line\nbreak", "9999-12-31", "0001-01-01", "1e308",
         "-1", "NaN", "inf", "$1,234.50", "2027-01-04T09:00:00Z", "true", "yes", "12 000"]
    ),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)  # fmt: skip


@st.composite
def import_files(draw: st.DrawFn) -> tuple[str, str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    fields = list(SPECS[kind].fields)
    columns = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    columns += draw(st.lists(st.text(min_size=1, max_size=8), max_size=2))  # unknown ones
    rows = draw(st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns)),
                         max_size=6))  # fmt: skip
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    text = _csv(columns, rows) if fmt == "csv" else _jsonl(columns, rows, draw)
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "utf-8-sig"]))
    data = text.encode(encoding, errors="replace")
    data += draw(st.one_of(st.just(b""), st.binary(max_size=12)))  # a torn or foreign tail
    return kind, fmt, data


def _csv(columns: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _jsonl(columns: list[str], rows: list[list[str]], draw: st.DrawFn) -> str:
    lines = []
    for row in rows:
        doc: dict[str, Any] = dict(zip(columns, row, strict=True))
        if draw(st.booleans()):  # typed values too: numbers, nulls, nested objects
            doc |= draw(st.dictionaries(st.sampled_from(columns or ["x"]),
                                        st.one_of(st.none(), st.integers(), st.floats(),
                                                  st.lists(st.integers(), max_size=2)),
                                        max_size=2))  # fmt: skip
        lines.append(json.dumps(doc) if draw(st.integers(0, 9)) else "{broken")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One ledger for every example (migrating a new one per example costs seconds)."""
    db = f"sqlite:///{tmp_path_factory.mktemp('fuzz-ledger')}/ledger.db"
    assert CliRunner().invoke(app, ["init", "--db", db]).exit_code == 0
    return db


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=import_files())
def test_any_import_file_gets_an_answer_or_a_refusal_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, ledger_db: str, case: tuple[str, str, bytes]
) -> None:
    kind, fmt, data = case
    folder: Path = tmp_path_factory.mktemp("fuzz")
    path = folder / f"input.{fmt}"
    path.write_bytes(data)
    result = CliRunner().invoke(app, ["import", kind, str(path), "--db", ledger_db])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2, 3, 4), result.output
    if result.exit_code != 0:
        assert "error" in result.output.lower(), result.output
    if result.exit_code == 3 and "invalid row" in result.output:
        assert ROW_REFUSAL.search(result.output), result.output
