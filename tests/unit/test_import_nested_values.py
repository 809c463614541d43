"""A JSONL cell holding a list or an object is refused by row and field, not a crash."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dtem.entrypoints.cli.app import app


def _import(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = CliRunner().invoke(app, ["import", "accounts", str(path), "--db", db])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "nothing was written" in result.output
    return result.output


def test_nested_json_values_are_refused_by_row_and_field(tmp_path: Path) -> None:
    out = _import(tmp_path, "ids.jsonl", '{"external_id": [], "name": "Acme"}\n')
    assert "ids.jsonl:1: field 'external_id' = '[]': a list where one value belongs" in out
    line = '{"external_id": "A2", "name": {"x": 1}, "employees": [1, 2]}\n'
    out = _import(tmp_path, "fields.jsonl", line)
    assert "fields.jsonl:1: field 'name'" in out and "an object where one value belongs" in out
    assert "fields.jsonl:1: field 'employees' = '[1, 2]': a list where one value" in out
