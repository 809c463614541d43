"""The dashboard's forms refuse a request without the session's CSRF token, and its errors
are pages (or, for an HTMX request, a fragment) naming what was wrong — never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.entrypoints.api.app import create_app
from dtem.entrypoints.web.session import CSRF_FIELD, SESSION_COOKIE, csrf_for
from dtem.services import access, governance
from tests.conftest import T0


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[tuple[TestClient, Container, str]]:
    c = build(Settings(), f"sqlite:///{tmp_path}/ledger.db")
    c.clock = FixedClock(T0)
    governance.ensure_policy(c.ledger, c.clock)
    governance.store_policy(c.ledger, {"threshold": 55}, c.clock, "test", merge=True)
    _, token = access.create_token(c.ledger, c.clock, "admin", "test")
    with TestClient(create_app(c), follow_redirects=False) as client:
        client.cookies.set(SESSION_COOKIE, token)
        yield client, c, token
    c.engine.dispose()


def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    admin: tuple[TestClient, Container, str],
) -> None:
    client, c, token = admin
    before = governance.ensure_policy(c.ledger, c.clock).version
    missing = client.post("/ui/policy/activate", data={"version": "2"})
    forged = client.post("/ui/policy/activate", data={"version": "2", CSRF_FIELD: "0" * 40})
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert "CSRF token is missing or stale" in missing.text
    assert governance.ensure_policy(c.ledger, c.clock).version == before
    done = client.post("/ui/policy/activate", data={"version": "2", CSRF_FIELD: csrf_for(token)})
    assert (done.status_code, done.headers["location"]) == (
        303,
        "/ui/policy?done=version%202%20is%20active",
    )
    assert governance.ensure_policy(c.ledger, c.clock).version == 2


def test_errors_are_pages_and_htmx_gets_a_fragment(
    admin: tuple[TestClient, Container, str],
) -> None:
    client, _, token = admin
    page = client.get("/ui/accounts/<b>nope")
    assert page.status_code == 404
    assert "account &#39;&lt;b&gt;nope&#39; does not exist" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    form = {"version": "99", CSRF_FIELD: csrf_for(token)}
    fragment = client.post("/ui/policy/preview", data=form, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'role="alert"' in fragment.text and "99" in fragment.text
    bad_day = client.get("/?at=someday")
    assert bad_day.status_code == 422 and "at: &#39;someday&#39; is not a date" in bad_day.text
