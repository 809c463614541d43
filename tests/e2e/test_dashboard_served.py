"""`dtem serve` serves the dashboard: `/` asks for a sign-in, the assets ship in the package."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Server


def test_the_root_asks_a_browser_to_sign_in_and_the_assets_are_served(server: Server) -> None:
    root = httpx.get(f"{server.base_url}/", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (303, "/ui/login?next=%2F")
    form = httpx.get(f"{server.base_url}/ui/login")
    assert form.status_code == 200 and 'name="token"' in form.text
    assert "httponly" in form.headers["set-cookie"].lower()
    htmx = httpx.get(f"{server.base_url}/ui/static/htmx.min.js")
    licence = httpx.get(f"{server.base_url}/ui/static/htmx.LICENSE.txt")
    assert htmx.status_code == 200 and "htmx" in htmx.text
    assert licence.status_code == 200 and "BSD" in licence.text


def test_a_wrong_token_is_refused_on_the_form(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as browser:
        form = browser.get("/ui/login")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        answer = browser.post("/ui/login", data={"token": "dtem_nope", "csrf": csrf})
    assert answer.status_code == 401
    assert "token: unknown token" in answer.text
    assert "dtem_session" not in answer.headers.get("set-cookie", "")
