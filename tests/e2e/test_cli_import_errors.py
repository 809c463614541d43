"""Import messages name the file, the line and what to try; limits hold on every database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import run_dtem

HEADER = "external_id,name,industry\n"
ROWS = "".join(f"A{i},Acme {i},retail\n" for i in range(1, 11))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    run_dtem("init", db=url, check=True)
    return url


def names(db: str) -> dict[str, str]:
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT external_id, name FROM accounts")).all()
    engine.dispose()
    return {r.external_id: r.name for r in rows}


def error_of(path: Path, db: str, *extra: str, code: int = 2) -> str:
    proc = run_dtem("import", "accounts", str(path), *extra, db=db)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "[Errno" not in proc.stderr
    return proc.stderr


def test_a_latin1_file_names_file_and_line_and_suggests_encoding(
    sqlite_url: str, tmp_path: Path
) -> None:
    run_dtem("init", db=sqlite_url, check=True)
    path = tmp_path / "accounts.csv"
    path.write_bytes((HEADER + ROWS + "A99,Café Zé,retail\n").encode("latin-1"))
    message = error_of(path, sqlite_url)
    assert "accounts.csv:12: not UTF-8 text (byte 0xe9)" in message
    assert "--encoding latin-1" in message
    run_dtem("import", "accounts", str(path), "--encoding", "latin-1", db=sqlite_url, check=True)
    assert names(sqlite_url)["A99"] == "Café Zé"


def test_a_utf16_file_with_its_byte_order_mark_imports_as_is(
    sqlite_url: str, tmp_path: Path
) -> None:
    run_dtem("init", db=sqlite_url, check=True)
    path = tmp_path / "accounts.csv"
    path.write_bytes((HEADER + ROWS + "A99,Café Zé,retail\n").encode("utf-16"))
    out = run_dtem("import", "accounts", str(path), "--json", db=sqlite_url, check=True)
    assert json.loads(out.stdout)["counts"]["inserted"] == 11
    assert names(sqlite_url)["A99"] == "Café Zé"


def test_an_unbalanced_quote_names_the_row_and_line(sqlite_url: str, tmp_path: Path) -> None:
    run_dtem("init", db=sqlite_url, check=True)
    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + ROWS + 'A98,"Broken,retail\n' + ROWS.replace("A", "B"))
    message = error_of(path, sqlite_url)
    assert "accounts.csv:12: row 12 has 2 column(s), the header has 3" in message
    assert "quotes" in message


def test_a_broken_jsonl_line_is_reported_by_its_line_number(
    sqlite_url: str, tmp_path: Path
) -> None:
    run_dtem("init", db=sqlite_url, check=True)
    path = tmp_path / "accounts.jsonl"
    good = [json.dumps({"external_id": f"A{i}", "name": f"Acme {i}"}) for i in range(1, 6)]
    path.write_text("\n".join([*good[:3], '{"external_id": "A9", "name": ', *good[3:]]) + "\n")
    assert "accounts.jsonl:4: not valid JSON" in error_of(path, sqlite_url)


def test_empty_and_missing_files_say_so(sqlite_url: str, tmp_path: Path) -> None:
    run_dtem("init", db=sqlite_url, check=True)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty.csv: the file is empty" in error_of(empty, sqlite_url)
    assert "unknown column" not in error_of(empty, sqlite_url)
    missing = tmp_path / "missing.csv"
    assert f"{missing}: no such file" in error_of(missing, sqlite_url)


def test_too_long_names_and_nul_bytes_are_row_errors_on_every_database(
    db: str, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + "L1," + "x" * 600 + ",retail\nL2,ok\x00nul,retail\nL3,fine,retail\n")
    proc = run_dtem("import", "accounts", str(path), "--json", db=db)
    assert proc.returncode == 3, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert [(r["row"], r["field"]) for r in rows] == [(2, "name"), (3, "name")]
    assert "at most 512" in rows[0]["reason"] and "NUL" in rows[1]["reason"]
    skipped = run_dtem("import", "accounts", str(path), "--on-error", "skip", "--json", db=db)
    assert json.loads(skipped.stdout)["counts"]["inserted"] == 1
