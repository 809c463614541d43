"""Who may call what: every (role, endpoint) pair of the API, with the exact answer.

`ACCESS` names, for every operation the app serves, the roles let through. The operations
are read from `create_app(...).routes`, so a new endpoint without a line here fails
`test_every_endpoint_has_a_line_in_the_table`. For each operation and each caller:

- no token → 401;
- a role not in its line → 403 (admin is always let through);
- a role in its line → neither 401 nor 403 (nor a 5xx): the guard let it pass (the body sent
  is `[]`, so a write is refused as 422 after the guard, and nothing is written).

`PUBLIC` operations answer every caller; `WRITE_KEY` ones (the Segment webhook) take a
source's write key, never a bearer token, so every bearer caller gets 401.
The dashboard's pages (`Page` lines) read the same token from the session cookie
instead, and a form sends the session's CSRF token: without a session a page redirects
to the sign-in form (303), a role not in its line gets 403. `SIGN_IN` (the sign-in
form's POST) refuses every caller that did not load the form first (403: no CSRF cookie).
Runs in-process on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from dtem.adapters.ledger.engine import make_engine
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.entrypoints.api.app import create_app
from dtem.entrypoints.web.session import CSRF_FIELD, SESSION_COOKIE, csrf_for
from dtem.services import access, leases
from dtem.services.governance import active_policy, ensure_policy
from tests.conftest import PG_URL, T0

ROLES = access.ROLES
PUBLIC = "public"
WRITE_KEY = "write key"

SIGN_IN = "sign-in form"


@dataclass(frozen=True)
class Page:
    """A dashboard page or form: the roles let through, the token in the session cookie."""

    roles: frozenset[str]


ANY = frozenset(ROLES)
ADMIN = frozenset({"admin"})
MANAGER = ADMIN | {"manager"}
READER = MANAGER | {"viewer"}  # KPIs and reports: read-only people, not reps or agents
AGENT = ADMIN | {"agent"}
ROUTER = MANAGER | {"agent"}  # may route an account and move an opportunity's stage
REP_OR_MANAGER = MANAGER | {"rep"}  # a rep acts only on its own (checked in the handler)

ACCESS: dict[tuple[str, str], frozenset[str] | str | Page] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    # policies and the audit chain
    ("GET", "/policy"): ANY,
    ("GET", "/policy/{version}"): ANY,
    ("POST", "/policy/activate"): ADMIN,
    ("POST", "/policies/{version}/activate"): ADMIN,
    ("GET", "/policies"): ANY,
    ("GET", "/policies/schema"): ANY,
    ("GET", "/policies/lambda"): ANY,
    ("GET", "/policies/schedules"): ANY,
    ("POST", "/policies/{version}/schedule"): ADMIN,
    ("POST", "/policies/schedules/{schedule_id}/cancel"): ADMIN,
    ("POST", "/policies"): ADMIN,
    ("GET", "/policies/{a}/diff"): ANY,
    ("POST", "/policies/{version}/preview"): ADMIN,
    ("POST", "/policies/rollback"): ADMIN,
    ("GET", "/audit/verify"): ADMIN,
    ("GET", "/audit"): ADMIN,
    # the Segment-compatible webhook
    **{
        ("POST", f"/v1/{p}"): WRITE_KEY
        for p in ["track", "page", "screen", "identify", "group", "alias", "batch"]
    },
    **{("POST", f"/v1/{p}"): WRITE_KEY for p in ["t", "p", "i", "g", "a", "b"]},
    # routing, leases, opportunities, reps
    ("POST", "/routing/{account}"): ROUTER,
    ("GET", "/leases"): ANY,
    ("GET", "/leases/{lease_id}"): ANY,  # a rep only its own (another's is a 404)
    ("POST", "/leases/{lease_id}/release"): REP_OR_MANAGER,
    ("POST", "/leases/{lease_id}/reassign"): MANAGER,
    ("POST", "/opportunities/{external_id}/stage"): ROUTER,
    ("GET", "/opportunities"): ANY,
    ("GET", "/opportunities/unattached"): ANY,
    ("GET", "/opportunities/{external_id}"): ANY,
    ("POST", "/opportunities/{external_id}/attach"): MANAGER,
    ("GET", "/reps"): ANY,
    ("GET", "/reps/{external_id}"): ANY,
    ("POST", "/reps/{external_id}/leave"): MANAGER,
    ("GET", "/decisions"): ANY,  # a rep only those that chose it
    ("GET", "/decisions/{decision_id}"): ANY,
    ("GET", "/overflow"): ANY,
    # optimiser, bids, CRM export
    ("POST", "/rebalance"): MANAGER,
    ("POST", "/bids"): REP_OR_MANAGER,
    ("GET", "/bids"): ANY,
    ("POST", "/bids/award"): MANAGER,
    ("GET", "/exports/assignments"): MANAGER,
    # the agent gateway
    ("POST", "/agent/v1/claims"): AGENT,
    ("POST", "/agent/v1/touches"): AGENT,
    ("POST", "/agent/v1/hand-raises"): AGENT,
    # accounts and scores
    ("GET", "/accounts"): ANY,  # an agent only the AI pool
    ("GET", "/accounts/{external_id}"): ANY,
    ("GET", "/accounts/{external_id}/score"): ANY,
    ("GET", "/accounts/{external_id}/explain"): ANY,
    ("PUT", "/accounts/{external_id}/tier"): MANAGER,
    ("PUT", "/accounts/{external_id}/do-not-contact"): MANAGER,
    # compensation (a rep its own statement: the path below names the rep token's rep)
    ("GET", "/comp/statements/{rep}/{period}"): REP_OR_MANAGER,
    # a rep's notification mutes (a rep its own: the path names the rep token's rep)
    ("GET", "/notifications/{rep}/mutes"): REP_OR_MANAGER,
    ("PUT", "/notifications/{rep}/mutes/{kind}"): REP_OR_MANAGER,
    ("DELETE", "/notifications/{rep}/mutes/{kind}"): REP_OR_MANAGER,
    ("GET", "/comp/plans"): ANY,
    ("POST", "/comp/plans"): ADMIN,
    ("GET", "/comp/periods"): READER,
    ("GET", "/comp/lines"): REP_OR_MANAGER,  # a rep only its own (?rep=R1 below)
    ("POST", "/comp/periods/{period}/close"): ADMIN,
    # KPIs and reports
    ("GET", "/kpis"): READER,
    ("GET", "/tam-audit"): READER,
    ("GET", "/pilots/{name}/report"): READER,
    # signals, webhook sources, tokens
    ("GET", "/signals/stats"): READER,
    ("GET", "/signals/unmatched"): READER,
    ("GET", "/sources"): ADMIN,
    ("POST", "/sources"): ADMIN,
    ("POST", "/sources/{name}/revoke"): ADMIN,
    ("GET", "/tokens"): ADMIN,
    ("POST", "/tokens"): ADMIN,
    ("POST", "/tokens/{token_id}/revoke"): ADMIN,
    # imports
    ("POST", "/imports/{kind}"): MANAGER,
    ("GET", "/imports"): READER,
    # privacy
    ("POST", "/privacy/erasures"): ADMIN,
    ("GET", "/privacy/retention"): ADMIN,
    ("PUT", "/privacy/retention/{source}"): ADMIN,
    # outbound webhooks
    ("POST", "/webhooks"): ADMIN,
    ("GET", "/webhooks"): ADMIN,
    ("GET", "/webhooks/{subscription_id}"): ADMIN,
    ("DELETE", "/webhooks/{subscription_id}"): ADMIN,
    ("GET", "/webhooks/{subscription_id}/deliveries"): ADMIN,
    ("POST", "/webhooks/{subscription_id}/test"): ADMIN,
    ("POST", "/webhooks/deliveries/{delivery_id}/replay"): ADMIN,
    ("POST", "/webhooks/replays"): ADMIN,
    # the dashboard (docs/dashboard.md)
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): SIGN_IN,
    ("POST", "/ui/logout"): Page(ANY),
    ("GET", "/ui/me"): Page(ANY),
    ("GET", "/"): Page(READER | {"rep"}),  # a rep is sent on to their own queue
    ("GET", "/ui/kpis"): Page(READER),
    ("GET", "/ui/reps/{rep}"): Page(READER | {"rep"}),
    ("GET", "/ui/accounts/{external_id}"): Page(ANY),
    ("GET", "/ui/policy"): Page(READER),
    ("GET", "/ui/policy/diff"): Page(READER),
    ("POST", "/ui/policy/preview"): Page(ADMIN),
    ("POST", "/ui/policy/activate"): Page(ADMIN),
    ("POST", "/ui/policy/rollback"): Page(ADMIN),
    ("GET", "/ui/team"): Page(MANAGER),
    ("POST", "/ui/leases/{lease_id}/reassign"): Page(MANAGER),
}

# a value of the right type for every path parameter; the rep is the rep token's own
PATH_VALUES = {
    "version": "1",
    "a": "1",
    "account": "A1",
    "lease_id": "1",
    "decision_id": "1",
    "kind": "accounts",
    "token_id": "987654",  # revoking a real one would lock a caller out mid-test
    "external_id": "A1",
    "rep": "R1",
    "period": "2027-01",
    "name": "tank",
    "source": "website",
    "subscription_id": "1",
    "delivery_id": "1",
    "schedule_id": "987654",  # none: an allowed caller gets 404, a refused one 401/403
}


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]  # role -> bearer secret
    lease_id: int  # R1's lease on A1
    c: Container

    def call(self, method: str, path: str, role: str | None, **kw: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return self.client.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]


def _serve(url: str) -> Iterator[Api]:
    """Reps R1 and R2, account A1 leased to R1, a token per role; the app in-process."""
    c = build(Settings(), url)
    c.clock = FixedClock(T0)
    ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita"), Rep("R2", "Raj"), Rep("R3", "Rosa")], T0)
        tx.insert_accounts([Account("A1", "Acme"), Account("A2", "Globex")], T0)
        acc = tx.all_account_ids()
        rep = {r.external_id: r.id for r in tx.all_reps()}
        policy = active_policy(tx)
        lease = leases.grant(tx, acc["A1"], rep["R1"], T0, 80.0, policy, "test", "test")
        leases.grant(tx, acc["A2"], rep["R2"], T0, 80.0, policy, "test", "test")
    subjects = {"rep": "R1", "agent": "bot"}
    tokens = {
        role: access.create_token(c.ledger, c.clock, role, role, subject=subjects.get(role))[1]
        for role in ROLES
    }
    assert lease.id is not None
    with TestClient(create_app(c), raise_server_exceptions=False) as client:
        yield Api(client, tokens, lease.id, c)
    c.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    if request.param == "sqlite":
        yield from _serve(f"sqlite:///{tmp_path_factory.mktemp('matrix')}/ledger.db")
        return
    if not PG_URL:
        pytest.skip("DTEM_TEST_POSTGRES_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield from _serve(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _served(api: Api) -> set[tuple[str, str]]:
    app = api.client.app
    return {
        (method, str(r.path_format))
        for r in iter_route_contexts(app.routes)  # type: ignore[attr-defined]
        for method in (r.methods or set()) - {"HEAD"}
    }


def test_every_endpoint_has_a_line_in_the_table(api: Api) -> None:
    served = _served(api)
    assert sorted(served - ACCESS.keys()) == [], "endpoints without a line in ACCESS"
    assert sorted(ACCESS.keys() - served) == [], "lines in ACCESS for endpoints not served"


def _expected(allowed: frozenset[str] | str | Page, role: str | None) -> str:
    if allowed == PUBLIC:
        return "answers"
    if allowed == SIGN_IN:
        return "403"
    if isinstance(allowed, Page):
        if role is None:
            return "sign-in"
        return "passes" if role in allowed.roles or role == "admin" else "403"
    if allowed == WRITE_KEY or role is None:
        return "401"
    assert isinstance(allowed, frozenset)
    return "passes" if role in allowed or role == "admin" else "403"


def _outcome(status: int, location: str = "") -> str:
    if status == 303 and location.startswith("/ui/login?next="):
        return "sign-in"
    if status >= 500:
        return f"{status} (a bug)"
    if status in (401, 403):
        return str(status)
    return "passes"


@pytest.mark.parametrize(
    ("method", "path"), sorted(ACCESS), ids=[" ".join(k) for k in sorted(ACCESS)]
)
def test_each_role_gets_exactly_its_access(api: Api, method: str, path: str) -> None:
    url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
    content = b"[]" if method in ("POST", "PUT") else None
    got, want = {}, {}
    for role in (None, *ROLES):
        if isinstance(ACCESS[(method, path)], Page):
            response = _page_request(api, method, url, role)
        else:
            headers = {"Content-Type": "application/json"}
            if role:
                headers["Authorization"] = f"Bearer {api.tokens[role]}"
            response = api.client.request(method, url, headers=headers, content=content)
        status = response.status_code
        expected = _expected(ACCESS[(method, path)], role)
        if expected == "answers":
            got[role] = "answers" if status == 200 else str(status)
        else:
            got[role] = _outcome(status, response.headers.get("location", ""))
        want[role] = expected
    assert got == want


def _page_request(api: Api, method: str, url: str, role: str | None) -> httpx.Response:
    """A dashboard request: the role's token in the session cookie, a form its CSRF token."""
    api.client.cookies.clear()
    if role:
        api.client.cookies.set(SESSION_COOKIE, api.tokens[role])
    data = {CSRF_FIELD: csrf_for(api.tokens[role])} if role and method == "POST" else None
    try:
        return api.client.request(method, url, data=data, follow_redirects=False)
    finally:
        api.client.cookies.clear()


def test_a_rep_cannot_tell_another_reps_lease_from_a_missing_one(api: Api) -> None:
    others = api.call("GET", "/leases?all=true", "admin").json()["items"]
    other = next(x["id"] for x in others if x["rep"] == "R2")
    theirs = api.call("POST", f"/leases/{other}/release", "rep", json={"reason": "x"})
    missing = api.call("POST", "/leases/987654/release", "rep", json={"reason": "x"})
    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert theirs.json()["detail"].replace(str(other), "N") == missing.json()["detail"].replace(
        "987654", "N"
    )
    shown = api.call("GET", f"/leases/{other}", "rep")
    absent = api.call("GET", "/leases/987654", "rep")
    assert (shown.status_code, absent.status_code) == (404, 404)
    assert shown.json()["detail"].replace(str(other), "N") == absent.json()["detail"].replace(
        "987654", "N"
    )
    assert api.call("GET", f"/leases/{other}", "manager").json()["rep"] == "R2"
    mine = api.call("GET", "/leases?all=true", "rep").json()["items"]
    assert {x["rep"] for x in mine} == {"R1"}
    every = api.call("GET", "/leases?all=true", "manager").json()["items"]
    assert {x["rep"] for x in every} == {"R1", "R2"}


def test_a_rep_may_release_its_own_lease(api: Api) -> None:
    own = api.call("POST", f"/leases/{api.lease_id}/release", "rep", json={"reason": "pto"})
    assert own.status_code == 200 and own.json()["state"] == "released"


def test_the_api_records_when_a_token_was_last_used(api: Api) -> None:
    assert api.call("GET", "/policy", "viewer").status_code == 200
    with api.c.ledger.transaction() as tx:
        used = {t.role: t.last_used_at for t in tx.tokens()}
    assert used["viewer"] == T0  # the app's clock
