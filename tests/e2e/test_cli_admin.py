"""init, policy and audit from the command line, as an admin types them."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from dtem.domain.policy import NOT_USED_YET
from tests.e2e.conftest import run_dtem


def test_init_twice_is_harmless(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    first = json.loads(run_dtem("init", "--json", db=db, check=True).stdout)
    second = json.loads(run_dtem("init", "--json", db=db, check=True).stdout)
    assert first["policy_version"] == second["policy_version"] == 1
    versions = json.loads(run_dtem("policy", "list", "--json", db=db, check=True).stdout)
    assert len(versions) == 1


def test_policy_store_and_activate_are_audited(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    doc = tmp_path / "p.yaml"
    doc.write_text("threshold: 65\nsprint_days: 21\n")
    stored = json.loads(run_dtem("policy", "store", str(doc), "--json", db=db, check=True).stdout)
    assert stored["version"] == 2
    run_dtem("policy", "activate", "2", db=db, check=True)
    shown = json.loads(run_dtem("policy", "show", "--json", db=db, check=True).stdout)
    assert shown["version"] == 2 and shown["policy"]["threshold"] == 65
    actions = [e["action"] for e in json.loads(run_dtem("audit", "list", "--json", db=db).stdout)]
    assert actions[-2:] == ["policy.store", "policy.activate"]


def test_invalid_policy_is_rejected_with_every_problem(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    doc = tmp_path / "bad.yaml"
    doc.write_text("threshold: 140\nsprint_days: 0\ncolour: red\n")
    run_dtem("init", db=db, check=True)
    proc = run_dtem("policy", "store", str(doc), db=db)
    assert proc.returncode == 6
    for fragment in ("threshold", "sprint_days", "colour"):
        assert fragment in proc.stderr


def test_activating_an_unknown_version_exits_4(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    proc = run_dtem("policy", "activate", "9", db=db)
    assert proc.returncode == 4 and "9" in proc.stderr


def test_audit_verify_names_the_first_altered_entry(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    for role in ("admin", "viewer", "agent"):
        run_dtem("token", "create", "--role", role, "--subject", "bot", db=db, check=True)
    ok = json.loads(run_dtem("audit", "verify", "--json", db=db, check=True).stdout)
    assert ok == {"ok": True, "entries": 5}
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    proc = run_dtem("audit", "verify", db=db)
    assert proc.returncode == 7 and "#3" in proc.stderr


def _ledger_with_five_entries(tmp_path: Path) -> tuple[str, sa.Engine]:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    for role in ("admin", "viewer", "agent"):
        run_dtem("token", "create", "--role", role, "--subject", "bot", db=db, check=True)
    return db, sa.create_engine(db)


def test_audit_verify_detects_a_deleted_last_entry(tmp_path: Path) -> None:
    db, engine = _ledger_with_five_entries(tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 5"))
    proc = run_dtem("audit", "verify", db=db)
    assert proc.returncode == 7 and "audit entry #5 is missing" in proc.stderr


def test_audit_verify_names_a_deleted_middle_entry(tmp_path: Path) -> None:
    db, engine = _ledger_with_five_entries(tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 3"))
    proc = run_dtem("audit", "verify", db=db)
    assert proc.returncode == 7 and "audit entry #3 is missing" in proc.stderr
    assert "#2" not in proc.stderr


def test_an_anchor_kept_outside_catches_a_truncation_with_a_rewritten_head(
    tmp_path: Path,
) -> None:
    db, engine = _ledger_with_five_entries(tmp_path)
    taken = run_dtem("audit", "anchor", "--json", db=db, check=True).stdout
    anchor = tmp_path / "anchor.json"
    anchor.write_text(taken)
    assert json.loads(taken)["entries"] == 5
    run_dtem("token", "create", "--role", "viewer", db=db, check=True)
    later = run_dtem("audit", "verify", "--anchor", str(anchor), "--json", db=db, check=True)
    assert json.loads(later.stdout) == {"ok": True, "entries": 6}
    with engine.begin() as conn:  # cut #4-#6 and make the head agree with what is left
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq > 3"))
        conn.execute(
            sa.text(
                "UPDATE audit_head SET entries = 3,"
                " last_hash = (SELECT hash FROM audit_log WHERE seq = 3)"
            )
        )
    run_dtem("audit", "verify", db=db, check=True)  # the database alone cannot tell
    proc = run_dtem("audit", "verify", "--anchor", str(anchor), db=db)
    assert proc.returncode == 7 and "audit entry #4 is missing" in proc.stderr


def test_a_file_that_is_not_an_anchor_is_bad_usage(tmp_path: Path) -> None:
    db, _ = _ledger_with_five_entries(tmp_path)
    bad = tmp_path / "anchor.json"
    bad.write_text('{"entries": "five"}')
    proc = run_dtem("audit", "verify", "--anchor", str(bad), db=db)
    assert proc.returncode == 2 and "entries" in proc.stderr and "anchor.json" in proc.stderr


def test_every_command_has_help_with_an_example() -> None:
    for group in (
        "init",
        "serve",
        "policy show",
        "policy activate",
        "audit verify",
        "audit anchor",
        "token create",
    ):
        proc = run_dtem(*group.split(), "--help", check=True)
        assert "Example" in proc.stdout, group


def test_policy_show_marks_the_fields_no_rule_reads_yet(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    shown = json.loads(run_dtem("policy", "show", "--json", db=db, check=True).stdout)
    assert shown["unused_fields"] == list(NOT_USED_YET)
    assert set(NOT_USED_YET) <= set(shown["policy"])
    table = run_dtem("policy", "show", db=db, check=True).stdout
    marked = {
        cells[1].strip()
        for line in table.splitlines()
        if "not used yet" in line and len(cells := line.split("│")) > 2
    }
    assert marked == set(NOT_USED_YET)
