"""The dashboard in real Chromium: a seeded SQLite ledger, the app in a uvicorn thread.

Debian's `/usr/bin/chromium` is driven by Playwright (`playwright install` cannot
download here); `.ci/run` installs it, and without it these tests skip saying so.
Every test of the folder shares one server and one browser (`xdist_group("browser")`).
Screenshots go to `test-artifacts/browser/` (not tracked).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.entrypoints.api.app import create_app
from dtem.services import access, governance, leases, pilots, routing
from tests.conftest import T0
from tests.e2e.conftest import free_port
from tests.market_seed import put_score, seed

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
SCRIPT_NAME = "<script>alert('x')</script> Corp"
NOW = T0 + timedelta(days=3)

# every module of the folder: one worker (they share the server), skipped without chromium
BROWSER_TESTS = [
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"
    ),
]


@dataclass
class Site:
    base: str
    c: Container
    tokens: dict[str, str]  # role -> token


def _seed(c: Container) -> None:
    """Reps R1–R3 (R1, R2 in a pilot), twelve scored accounts routed to them, one lost
    lease, one account whose name is markup, and a second policy version to preview."""
    clock = FixedClock(T0)
    reps = [Rep(f"R{i}", f"Rep {i}", capacity=4) for i in (1, 2, 3)]
    accounts = [Account(f"A{i:02d}", f"Account {i}") for i in range(1, 12)]
    accounts.append(Account("AX", SCRIPT_NAME))
    acc, _ = seed(c.ledger, clock, accounts, reps)
    for i, a in enumerate(accounts):
        put_score(c.ledger, acc[a.external_id], 90.0 - 5 * i, T0)
    for a in accounts[:8]:
        routing.route(c.ledger, clock, a.external_id, "manual", "seed")
    routing.route(c.ledger, clock, "AX", "manual", "seed")
    held = leases.list_leases(c.ledger, "R1")
    leases.release_lease(c.ledger, clock, held[-1].lease.id, "seed", "rep asked to drop it")
    governance.store_policy(c.ledger, {"threshold": 50}, clock, "seed", "hotter", merge=True)
    pilots.create_pilot(c.ledger, clock, "tank", ["R1", "R2"], "seed")


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, thread, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the dashboard's server did not start in 30 s")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    c = build(Settings(), f"sqlite:///{tmp_path_factory.mktemp('browser')}/ledger.db")
    _seed(c)
    c.clock = FixedClock(NOW)
    subjects = {"rep": "R1", "agent": "bot"}
    tokens = {
        role: access.create_token(c.ledger, c.clock, role, role, subject=subjects.get(role))[1]
        for role in access.ROLES
    }
    server, thread, base = _serve(create_app(c))
    yield Site(base, c, tokens)
    server.should_exit = True
    thread.join(timeout=10)
    c.engine.dispose()


@pytest.fixture(scope="package")  # not session: a live Playwright keeps an event loop
def browser() -> Iterator[Any]:  # running in the thread, and later asyncio.run would fail
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright: a dev dependency")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def sign_in(page: Any, site: Site, role: str) -> None:
    """Sign in through the form, as a person does."""
    page.goto(f"{site.base}/ui/login")
    page.get_by_label("Token").fill(site.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def number(text: str) -> float:
    """The number in a cell as the page writes it ("1,234", "45.0%")."""
    return float(re.sub(r"[^0-9.\-]", "", text))
