"""The admin's policy round trip, as typed at the CLI and sent over HTTP: store a partial
document, diff it, activate it, roll it back — each step audited, the chain intact."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import jsonschema

from dtem.domain.policy import default_policy
from tests.e2e.conftest import Server, run_dtem


def test_cli_store_partial_diff_activate_rollback(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    doc = tmp_path / "lower.yaml"
    doc.write_text("threshold: 55\nsignal_types:\n  hand_raise:\n    weight: 8\n")
    stored = json.loads(run_dtem("policy", "store", str(doc), "--json", db=db, check=True).stdout)
    diff = json.loads(run_dtem("policy", "diff", "1", "2", "--json", db=db, check=True).stdout)
    assert stored["version"] == 2
    assert [(c["path"], c["before"], c["after"]) for c in diff["changes"]] == [
        ("signal_types.hand_raise.weight", 6.0, 8),
        ("threshold", 60.0, 55),
    ]
    table = run_dtem("policy", "diff", "1", "2", db=db, check=True).stdout
    assert "signal_types.hand_raise.weight" in table and "55" in table
    run_dtem("policy", "activate", "2", db=db, check=True)
    out = run_dtem("policy", "rollback", "--reason", "too hot", db=db, check=True).stdout
    assert "v3 is now active" in out
    shown = json.loads(run_dtem("policy", "show", "--json", db=db, check=True).stdout)
    assert shown["version"] == 3 and shown["policy"]["threshold"] == 60.0
    actions = [e["action"] for e in json.loads(run_dtem("audit", "list", "--json", db=db).stdout)]
    assert actions[-4:] == ["policy.store", "policy.activate", "policy.store", "policy.rollback"]
    assert run_dtem("audit", "verify", db=db).returncode == 0
    preview = json.loads(run_dtem("policy", "preview", "2", "--json", db=db, check=True).stdout)
    assert preview["version"] == 2 and preview["active_version"] == 3
    assert "would cross up" in run_dtem("policy", "preview", "2", db=db, check=True).stdout


def test_cli_refuses_a_rollback_with_nothing_before_and_a_bad_partial(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    run_dtem("init", db=db, check=True)
    proc = run_dtem("policy", "rollback", db=db)
    assert proc.returncode == 4 and "nothing to roll back" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("signal_types:\n  demo:\n    weight: 1\n")
    proc = run_dtem("policy", "store", str(bad), db=db)
    assert proc.returncode == 6 and "signal type 'demo': half_life_days is required" in proc.stderr


def test_the_published_schema_accepts_stored_documents_and_rejects_unknown_keys() -> None:
    proc = run_dtem("policy", "schema", check=True)
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(default_policy().to_dict())) == []
    assert schema["properties"]["threshold"]["description"].startswith("score at or above")
    errors = list(validator.iter_errors({"threshold": "high", "colour": "red"}))
    assert len(errors) == 2


def test_api_store_diff_activate_rollback(any_server: Server) -> None:
    out = run_dtem("token", "create", "--role", "admin", "--json", db=any_server.db, check=True)
    headers = {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}
    base = any_server.base_url
    patch = {"document": {"signal_types": {"hand_raise": {"weight": 8}}}, "note": "hotter"}
    stored = httpx.post(f"{base}/policies", json=patch, headers=headers)
    assert stored.status_code == 201
    version = stored.json()["version"]
    assert stored.json()["policy"]["signal_types"]["web_visit"]["weight"] == 0.4  # kept
    diff = httpx.get(f"{base}/policies/1/diff", params={"to": version}, headers=headers).json()
    assert [c["path"] for c in diff["changes"]] == ["signal_types.hand_raise.weight"]
    pre = httpx.post(f"{base}/policies/{version}/preview", headers=headers, timeout=120)
    assert pre.status_code == 200 and pre.json()["version"] == version
    assert pre.json()["active_version"] == 1 and pre.json()["accounts"] == 0
    missing = httpx.post(f"{base}/policies/99/preview", headers=headers, timeout=120)
    assert missing.status_code == 404
    act = httpx.post(f"{base}/policy/activate", json={"version": version}, headers=headers)
    assert act.status_code == 200
    rolled = httpx.post(f"{base}/policies/rollback", json={"reason": "r"}, headers=headers)
    assert rolled.status_code == 200 and rolled.json()["version"] == version + 1
    assert rolled.json()["policy"]["signal_types"]["hand_raise"]["weight"] == 6.0
    listed = httpx.get(f"{base}/policies", headers=headers).json()["items"]
    assert [v["active"] for v in listed] == [False, False, True]
    schema = httpx.get(f"{base}/policies/schema", headers=headers)
    assert schema.status_code == 200 and schema.json()["title"] == "DTEM policy"
    bad = httpx.post(f"{base}/policies", json={"document": {"threshold": 140}}, headers=headers)
    assert bad.status_code == 422 and "threshold" in json.dumps(bad.json())
    viewer = run_dtem("token", "create", "--role", "viewer", "--json", db=any_server.db).stdout
    vh = {"Authorization": f"Bearer {json.loads(viewer)['token']}"}
    assert httpx.post(f"{base}/policies/rollback", json={}, headers=vh).status_code == 403


def test_lambda_history_over_the_cli_and_http(any_server: Server, tmp_path: Path) -> None:
    """A review steps λ; `dtem policy lambda` and GET /policies/lambda show the same step."""
    db = any_server.db
    reps = tmp_path / "reps.csv"
    reps.write_text("external_id,name,capacity\nR1,Rita,10\n")
    run_dtem("import", "reps", str(reps), db=db, check=True)
    run_dtem("review", "--date", "2027-01-05", db=db, check=True)
    cli = json.loads(run_dtem("policy", "lambda", "--json", db=db, check=True).stdout)
    (step,) = cli["steps"]
    assert step["on"] == "2027-01-05" and step["utilisation"] == 0.0 and step["capacity"] == 10
    assert step["lambda_after"] < step["lambda_before"]  # idle: cheaper capacity
    assert cli["threshold"] == 60.0 and cli["threshold_in_force"] < 60.0
    out = run_dtem("token", "create", "--role", "viewer", "--subject", "ops", "--json", db=db)
    headers = {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}
    got = httpx.get(f"{any_server.base_url}/policies/lambda", headers=headers)
    assert got.status_code == 200
    (http_step,) = got.json()["steps"]
    assert datetime.fromisoformat(http_step.pop("at")) == datetime.fromisoformat(step.pop("at"))
    assert http_step == step
    assert got.json()["threshold_in_force"] == cli["threshold_in_force"]
    table = run_dtem("policy", "lambda", db=db, check=True).stdout
    assert "2027-01-05" in table and "0 / 10" in table


def test_activate_at_schedules_over_the_cli_and_http(any_server: Server, tmp_path: Path) -> None:
    """`activate N --at TS` and POST /policies/{n}/schedule record a schedule, listed and
    cancelled at the CLI and over HTTP; a past time is refused with the field named."""
    db = any_server.db
    doc = tmp_path / "lower.yaml"
    doc.write_text("threshold: 55\n")
    run_dtem("policy", "store", str(doc), db=db, check=True)
    proc = run_dtem("policy", "activate", "2", "--at", "2020-01-01T00:00:00+00:00", db=db)
    assert proc.returncode == 2 and "not in the future" in proc.stderr
    assert "Traceback" not in proc.stderr
    naive = run_dtem("policy", "activate", "2", "--at", "2099-01-01T00:00:00", db=db)
    assert naive.returncode == 2 and "time zone" in naive.stderr
    out = run_dtem(
        "policy", "activate", "2", "--at", "2099-01-01T06:00:00+00:00", "--json", db=db, check=True
    )
    first = json.loads(out.stdout)
    assert first["version"] == 2 and first["at"] == "2099-01-01T06:00:00+00:00"
    token = run_dtem("token", "create", "--role", "admin", "--json", db=db, check=True)
    headers = {"Authorization": f"Bearer {json.loads(token.stdout)['token']}"}
    base = any_server.base_url
    made = httpx.post(
        f"{base}/policies/2/schedule", json={"at": "2098-06-01T00:00:00Z"}, headers=headers
    )
    assert made.status_code == 201, made.text
    listed = httpx.get(f"{base}/policies/schedules", headers=headers).json()
    assert [(x["id"], x["version"]) for x in listed] == [(made.json()["id"], 2), (first["id"], 2)]
    past = httpx.post(
        f"{base}/policies/2/schedule", json={"at": "2001-01-01T00:00:00Z"}, headers=headers
    )
    assert past.status_code == 422 and "not in the future" in past.text
    gone = httpx.post(f"{base}/policies/schedules/{made.json()['id']}/cancel", headers=headers)
    assert gone.status_code == 204
    cancelled = run_dtem("policy", "scheduled", "--cancel", str(first["id"]), "--json", db=db)
    assert json.loads(cancelled.stdout) == {"scheduled": []}
    shown = json.loads(run_dtem("policy", "show", "--json", db=db, check=True).stdout)
    assert shown["version"] == 1  # nothing fell due: the schedules were cancelled
    actions = [e["action"] for e in json.loads(run_dtem("audit", "list", "--json", db=db).stdout)]
    assert actions.count("policy.schedule") == 2 and actions.count("policy.schedule_cancel") == 2
