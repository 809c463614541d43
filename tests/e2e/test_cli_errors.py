"""Errors a person can act on: one line naming the problem, the README's exit code.

Each test runs `dtem` as a user types it and checks there is no traceback, only the line.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.e2e.conftest import DTEM, free_port, run_dtem


def one_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single error line of a failed command (asserting the exit code and no traceback)."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    return db


def test_a_word_where_the_policy_wants_a_number_is_one_line_exit_6(
    ledger: str, tmp_path: Path
) -> None:
    doc = tmp_path / "p.yaml"
    doc.write_text("threshold: high\nfit_industry: {retail: x}\n")
    line = one_line(run_dtem("policy", "store", str(doc), db=ledger), 6)
    assert "threshold must be a number, got 'high'" in line
    assert "fit_industry.retail must be a number" in line


def test_broken_yaml_names_its_line_exit_6(ledger: str, tmp_path: Path) -> None:
    doc = tmp_path / "p.yaml"
    doc.write_text("threshold: 65\nstages: [a, b\n")
    line = one_line(run_dtem("policy", "store", str(doc), db=ledger), 6)
    assert f"{doc}:" in line and "not valid YAML" in line


def _refused() -> str:
    return f"postgresql://ana:s3cret@127.0.0.1:{free_port()}/dtem"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("notaurl", "'notaurl' is not a database URL"),
        ("mysql://db/x", "unsupported database 'mysql'"),
        (None, "Connection refused"),
    ],
)
def test_an_unusable_database_url_is_one_line_exit_11(url: str | None, says: str) -> None:
    line = one_line(run_dtem("lease", "list", db=url or _refused()), 11)
    assert says in line
    assert "s3cret" not in line


def test_a_missing_postgres_database_is_one_line_exit_11() -> None:
    if not PG_URL:
        pytest.skip("DTEM_TEST_POSTGRES_URL not set")
    url = sa.engine.make_url(PG_URL).set(database=f"nope_{uuid.uuid4().hex[:8]}")
    line = one_line(run_dtem("init", db=url.render_as_string(hide_password=False)), 11)
    assert f'database "{url.database}" does not exist' in line


def test_a_read_command_creates_no_ledger_and_says_to_run_init(tmp_path: Path) -> None:
    folder = tmp_path / "nonexistent" / "dir"
    for command in (["lease", "list"], ["policy", "show"], ["audit", "verify"]):
        line = one_line(run_dtem(*command, db=f"sqlite:///{folder}/x.db"), 11)
        assert "no ledger at" in line and "dtem init" in line
    assert not (tmp_path / "nonexistent").exists()


def test_a_read_command_on_an_empty_postgres_schema_creates_no_tables(pg_url: str) -> None:
    line = one_line(run_dtem("policy", "list", db=pg_url), 11)
    assert "dtem init" in line
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_with_json_an_error_is_json_on_stdout_with_the_same_code(
    ledger: str, tmp_path: Path
) -> None:
    missing = run_dtem("lease", "list", "--json", db=f"sqlite:///{tmp_path}/none.db")
    assert missing.returncode == 11
    assert json.loads(missing.stdout)["code"] == 11
    doc = tmp_path / "p.yaml"
    doc.write_text("threshold: 140\n")
    bad = run_dtem("policy", "store", str(doc), "--json", db=ledger)
    body = json.loads(bad.stdout)
    assert bad.returncode == 6 and body["code"] == 6
    assert body["problems"] == ["threshold must be in (0, 100), got 140"]
    rows = tmp_path / "a.csv"
    rows.write_text("external_id,name,employees\nA1,Acme,many\n")
    invalid = run_dtem("import", "accounts", str(rows), "--json", db=ledger)
    body = json.loads(invalid.stdout)  # one JSON document, not a report and then an error
    assert invalid.returncode == 3 and body["code"] == 3
    assert [(r["row"], r["field"]) for r in body["rows"]] == [(2, "employees")]


def test_row_numbers_and_user_data_are_printed_as_they_are(ledger: str, tmp_path: Path) -> None:
    rows = ["external_id,name,employees"]
    rows += [f"A{i},Acme {i},10" for i in range(2, 100)]
    rows += ["A100,[bold]Shop[/] :smile:,lots"]
    path = tmp_path / "file.csv"
    path.write_text("\n".join(rows) + "\n")
    proc = run_dtem("import", "accounts", str(path), db=ledger)
    assert proc.returncode == 3
    assert "file.csv:100: field 'employees' = 'lots': not a number" in proc.stderr
    assert "💯" not in proc.stderr and "😄" not in proc.stderr
    path.write_text("external_id,name\nA1,[bold]Shop[/] :smile:\n")
    run_dtem("import", "accounts", str(path), db=ledger, check=True)
    shown = run_dtem("lease", "show", "1", db=ledger)
    assert shown.returncode == 4 and "Traceback" not in shown.stderr
    explained = run_dtem("explain", "A1", db=ledger, check=True)
    assert explained.stdout.startswith("A1  score")


def test_an_unexpected_error_is_reported_as_a_bug_not_as_bad_usage() -> None:
    from dtem.entrypoints.cli.common import classify

    shown, code = classify(ValueError("boom"))
    assert code == 1 and "internal error" in str(shown) and "boom" in str(shown)
    assert classify(FileNotFoundError(2, "No such file or directory", "x.csv"))[1] == 2


def test_serve_with_two_workers_starts_and_answers(ledger: str) -> None:
    import httpx

    from tests.e2e.conftest import _wait_healthy

    port = free_port()
    proc = subprocess.Popen(
        [*DTEM, "serve", "--db", ledger, "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc)
        with httpx.Client(base_url=base, timeout=10) as client:
            assert all(client.get("/health").json()["status"] == "ok" for _ in range(4))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_demo_writes_its_own_ledger_even_when_a_database_url_is_set(
    ledger: str, tmp_path: Path
) -> None:
    sample = Path(__file__).parents[2] / "examples" / "olist"
    env = {**os.environ, "DTEM_DATABASE_URL": ledger, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [*DTEM, "demo", "--sample", str(sample), "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(proc.stdout)["database"] == "sqlite:///data/demo.db"
    assert (tmp_path / "data" / "demo.db").exists()
    engine = sa.create_engine(ledger)
    with engine.connect() as conn:
        # the ledger named by $DTEM_DATABASE_URL got none of the sample's accounts
        assert conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one() == 0
    engine.dispose()
    helptext = run_dtem("demo", "--help").stdout
    assert "data/demo.db" in helptext and "DTEM_DATABASE_URL" in helptext
