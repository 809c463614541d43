"""A Salesforce export with opportunities whose account is not in the ledger yet, as a user
runs it (examples/salesforce), on SQLite and PostgreSQL: the rows are kept unattached,
listed, attached when their accounts arrive or by hand; reps show manager, team, region."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from tests.e2e.conftest import Server, run_dtem

EXAMPLE = Path(__file__).parents[2] / "examples" / "salesforce"
OPPS = ("opportunities", str(EXAMPLE / "opportunities.csv"), "-m", str(EXAMPLE / "mapping.yaml"))


def _cli(db: str, *args: str, code: int = 0) -> Any:
    from dtem.entrypoints.cli.app import app

    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args and code == 0 else result


def _opportunities(db: str) -> dict[str, tuple[str | None, str | None, Any]]:
    engine = make_engine(db)
    with SqlLedger(engine).transaction() as tx:
        opps = tx.all_opportunities()
    engine.dispose()
    return {o.external_id[-6:-3]: (o.account_external_id, o.product, o.amount) for o in opps}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


def test_unattached_opportunities_survive_import_and_attach_later(db: str) -> None:
    _cli(db, "init")
    accounts = _cli(db, "import", "accounts", str(EXAMPLE / "accounts.csv"), "-m", "salesforce",
                    "--json")  # fmt: skip
    assert [(n["row"], n["field"], n["value"]) for n in accounts["notices"]] == [
        (3, "country", "Germny")
    ]
    first = _cli(db, "import", *OPPS, "--json")
    assert first["counts"] | {"rows": 6} == {
        "rows": 6, "inserted": 6, "updated": 0, "unchanged": 0, "rejected": 0, "unattached": 3,
    }  # fmt: skip
    again = _cli(db, "import", *OPPS, "--json")
    assert (again["counts"]["unchanged"], again["counts"]["unattached"]) == (6, 3)
    assert again["batch_id"] is None  # idempotent: nothing written, nothing duplicated
    stored = _opportunities(db)
    assert len(stored) == 6
    assert {k: v[1] for k, v in stored.items()} == {
        "Op1": "analytics pro", "Op2": "analytics pro", "Op3": "data hub",
        "Op4": "analytics pro", "Op5": "data hub", "Op6": None,
    }  # fmt: skip
    assert stored["Op3"][2] == 61200.5 and stored["Op1"][0] == "0015g00000AcmeAAA"
    waiting = _cli(db, "opportunities", "unattached", "--json")
    assert [(w["opportunity"][-6:-3], w["key_kind"], w["account_key"]) for w in waiting] == [
        ("Op4", "name", "Initech"),
        ("Op5", "id", "0015g00000UmbrAAA"),
        ("Op6", None, None),
    ]
    later = _cli(db, "import", "accounts", str(EXAMPLE / "accounts_later.csv"), "-m",
                 "salesforce", "--json")  # fmt: skip
    assert sorted(x[-6:-3] for x in later["attached"]) == ["Op4", "Op5"]
    _cli(db, "opportunities", "attach", "0065g00000Op6AAA", "--account", "acme.com")
    assert _cli(db, "opportunities", "unattached", "--json") == []
    stored = _opportunities(db)
    assert stored["Op4"][0] == "0015g00000InitAAA" and stored["Op5"][0] == "0015g00000UmbrAAA"
    assert stored["Op6"][0] == "0015g00000AcmeAAA"
    final = _cli(db, "import", *OPPS, "--json")  # the export again: nothing detaches
    assert (final["counts"]["unchanged"], final["counts"]["unattached"]) == (6, 0)
    assert _opportunities(db) == stored
    move = ("opportunities", "attach", "0065g00000Op6AAA", "--account", "Globex")
    refused = _cli(db, *move, code=2)  # attached already: not moved by hand
    assert "already attached to account '0015g00000AcmeAAA'" in refused.output


def test_reps_list_shows_manager_team_and_region(db: str, tmp_path: Path) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text(
        "external_id,name,manager,team,region\n"
        "R1,Rita,Mona Lee,Enterprise,EMEA\nR2,Raj,Mona Lee,Mid-market,AMER\nR3,Ana,,,\n"
    )
    _cli(db, "import", "reps", str(reps))
    listed = _cli(db, "reps", "list", "--json")
    assert [(r["external_id"], r["manager"], r["team"], r["region"]) for r in listed] == [
        ("R1", "Mona Lee", "Enterprise", "EMEA"),
        ("R2", "Mona Lee", "Mid-market", "AMER"),
        ("R3", None, None, None),
    ]
    emea = _cli(db, "reps", "list", "--region", "emea", "--json")
    assert [r["external_id"] for r in emea] == ["R1"]
    table = _cli(db, "reps", "list").output
    assert "Mona Lee" in table and "Enterprise" in table


def _token(server: Server, role: str) -> dict[str, str]:
    out = run_dtem("token", "create", "--role", role, "--json", db=server.db, check=True)
    return {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}


def test_api_lists_and_attaches_waiting_opportunities_and_lists_reps(any_server: Server) -> None:
    db = any_server.db
    run_dtem("import", "accounts", str(EXAMPLE / "accounts.csv"), "-m", "salesforce", db=db,
             check=True)  # fmt: skip
    run_dtem("import", *OPPS, db=db, check=True)
    base, manager, viewer = (
        any_server.base_url,
        _token(any_server, "manager"),
        _token(any_server, "viewer"),
    )
    waiting = httpx.get(f"{base}/opportunities/unattached", headers=viewer).json()["items"]
    assert [w["opportunity"][-6:-3] for w in waiting] == ["Op4", "Op5", "Op6"]
    url = f"{base}/opportunities/0065g00000Op4AAA/attach"
    assert httpx.post(url, json={"account": "globex.io"}, headers=viewer).status_code == 403
    unknown = httpx.post(url, json={"account": "nobody.example"}, headers=manager)
    assert unknown.status_code == 404
    done = httpx.post(url, json={"account": "globex.io"}, headers=manager)
    assert done.status_code == 200 and done.json()["account"] == "0015g00000GlbxAAA"
    left = httpx.get(f"{base}/opportunities/unattached", headers=viewer).json()["items"]
    assert [w["opportunity"][-6:-3] for w in left] == ["Op5", "Op6"]
    assert httpx.get(f"{base}/reps", headers=viewer).json() == {"items": [], "next_cursor": None}
