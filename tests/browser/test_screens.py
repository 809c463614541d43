"""Every page at desktop (1280×800) and phone (390×844) width: a screenshot kept as a test
artifact, nothing wider than the screen, and no serious or critical axe-core violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, BROWSER_TESTS, Site, sign_in

axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
PAGES = [
    ("pool", "manager", "/"),
    ("kpis", "viewer", "/ui/kpis"),
    ("rep-queue", "rep", "/ui/reps/R1"),
    ("account", "viewer", "/ui/accounts/A01"),
    ("policy", "admin", "/ui/policy"),
    ("team", "manager", "/ui/team?pilot=tank"),
    ("login", None, "/ui/login"),
]

pytestmark = BROWSER_TESTS


def _serious(page: Any) -> list[str]:
    results = axe_sync.Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s)"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize(("name", "role", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_fits_the_screen_and_passes_axe(
    browser: Any, site: Site, size: str, name: str, role: str | None, path: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        if role:
            sign_in(page, site, role)
        assert page.goto(site.base + path).status == 200
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        assert overflow <= 0, f"{name} is {overflow}px wider than a {size} screen"
        assert _serious(page) == []
    finally:
        context.close()
