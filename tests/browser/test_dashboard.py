"""The dashboard as each role uses it, in headless Chromium, against what the ledger holds."""

from __future__ import annotations

from typing import Any

import pytest

from dtem.domain.model import LeaseState
from dtem.services import account_story, dashboard, governance, kpis, leases
from dtem.services.governance import ensure_policy
from dtem.services.preview import preview_policy
from tests.browser.conftest import BROWSER_TESTS, SCRIPT_NAME, Site, number, sign_in

pytestmark = BROWSER_TESTS


@pytest.mark.parametrize(
    ("role", "path", "heading"),
    [
        ("admin", "/", "The pool"),
        ("manager", "/", "The pool"),
        ("viewer", "/", "The pool"),
        ("rep", "/ui/reps/R1", "Rep 1"),
        ("agent", "/", "403"),
    ],
)
def test_each_role_signs_in_to_its_first_page(
    page: Any, site: Site, role: str, path: str, heading: str
) -> None:
    sign_in(page, site, role)
    assert page.url == site.base + path
    assert heading in page.locator("h1").inner_text()


def test_the_pool_shows_the_ledgers_numbers(page: Any, site: Site) -> None:
    view = dashboard.pool_overview(site.c.ledger, site.c.clock)
    sign_in(page, site, "manager")
    cards = {k: page.locator(f"[data-kpi={k}]").inner_text() for k in ("accounts", "overflow")}
    assert number(cards["accounts"]) == view.accounts
    assert number(cards["overflow"]) == view.overflow.total
    assert number(page.locator("[data-kpi=utilisation]").inner_text()) == pytest.approx(
        100 * view.capacity.utilisation, abs=0.05
    )
    for tier, count in view.tiers.items():
        assert number(page.locator(f"[data-tier='{tier}']").inner_text()) == count
    assert page.locator("svg[role=img] rect.bar").count() == len(view.histogram)


def test_a_rep_sees_their_queue_and_never_anothers(page: Any, site: Site) -> None:
    mine = leases.list_leases(site.c.ledger, "R1")
    sign_in(page, site, "rep")
    rows = page.locator("tr[data-lease]")
    assert sorted(int(rows.nth(i).get_attribute("data-lease")) for i in range(rows.count())) == (
        sorted(v.lease.id for v in mine)
    )
    lost = leases.list_leases(site.c.ledger, "R1", False, ended_only=True, with_events=True)
    assert page.locator("[data-lost]").first.inner_text().endswith(lost[0].events[-1].reason)
    assert page.goto(f"{site.base}/ui/reps/R2").status == 404
    assert page.locator("form[action$='/reassign']").count() == 0  # reps cannot reassign


def test_an_accounts_story_escapes_its_name(page: Any, site: Site) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, site, "viewer")
    page.goto(f"{site.base}/ui/accounts/AX")
    assert SCRIPT_NAME in page.locator("h1").inner_text()  # shown as text, not run
    assert dialogs == []
    story_leases = leases.list_leases(site.c.ledger, None, False, with_events=True)
    ax = [v for v in story_leases if v.account == "AX"]
    assert page.locator("article[data-lease]").count() == len(ax)
    story = account_story.account_story(site.c.ledger, site.c.clock, "AX")
    assert page.locator("article[data-decision]").count() == len(story.decisions) > 0
    assert number(page.locator("[data-score]").inner_text()) == pytest.approx(
        story.explanation.score.score, abs=0.051
    )


def test_an_admin_previews_activates_and_rolls_back_a_policy(page: Any, site: Site) -> None:
    from dtem.bootstrap import batch_scorer

    before = ensure_policy(site.c.ledger, site.c.clock).version
    with site.c.ledger.transaction() as tx:
        candidate = max(v.version for v in tx.policy_versions())
    expected = preview_policy(site.c.ledger, candidate, batch_scorer("duckdb"), site.c.clock)
    diff = governance.diff_policies(site.c.ledger, before, candidate)
    sign_in(page, site, "admin")
    page.goto(f"{site.base}/ui/policy")
    page.get_by_label("From version").fill(str(before))
    page.get_by_label("to version (empty: active)").fill(str(candidate))
    page.get_by_role("button", name="Diff").click()
    rows = page.locator("#diff-out table.diff tbody tr")
    rows.first.wait_for()
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == [
        c.path for c in diff.changes
    ]

    page.locator("#preview-v").fill(str(candidate))
    page.get_by_role("button", name="Preview").click()
    shown = page.locator(f"[data-preview='{candidate}']")
    shown.wait_for()
    assert number(shown.locator("[data-hot-after]").inner_text()) == expected.hot_after
    assert number(shown.locator("[data-hot-before]").inner_text()) == expected.hot_before

    page.locator("#activate-v").fill(str(candidate))
    page.get_by_role("button", name="Activate").click()
    assert page.locator("[data-active-version]").inner_text() == str(candidate)
    assert ensure_policy(site.c.ledger, site.c.clock).version == candidate

    page.locator("#rollback-why").fill("browser test")
    page.get_by_role("button", name="Roll back").click()
    now_active = ensure_policy(site.c.ledger, site.c.clock)
    assert page.locator("[data-active-version]").inner_text() == str(now_active.version)
    assert now_active.policy == ensure_policy_of(site, before)
    assert "rolled back" in page.locator("[role=status]").inner_text()


def ensure_policy_of(site: Site, version: int) -> Any:
    """The policy a stored version holds."""
    from dtem.domain.policy import Policy

    with site.c.ledger.transaction() as tx:
        return Policy.from_dict(tx.policy_document(version))


def test_a_manager_reassigns_a_lease_with_a_reason(page: Any, site: Site) -> None:
    held = leases.list_leases(site.c.ledger, "R1")
    lease_id = held[0].lease.id
    sign_in(page, site, "manager")
    page.goto(f"{site.base}/ui/reps/R1")
    row = page.locator(f"tr[data-lease='{lease_id}']")
    row.get_by_label("To rep").select_option("R3")
    row.get_by_label("Reason").fill("R1 is on leave")
    row.get_by_role("button", name="Reassign").click()
    assert page.url.startswith(f"{site.base}/ui/reps/R3")
    moved = leases.show_lease(site.c.ledger, lease_id)
    assert moved.lease.state is LeaseState.REASSIGNED
    assert moved.events[-1].reason == "R1 is on leave"
    new = leases.list_leases(site.c.ledger, "R3")[0]
    assert page.locator(f"tr[data-lease='{new.lease.id}']").count() == 1
    assert new.account == moved.account


def test_the_kpis_page_shows_the_kpi_report(page: Any, site: Site) -> None:
    from dtem.services.kpi_presenters import window

    since, to = window(None, None, site.c.clock())
    report = kpis.kpi_report(site.c.ledger, since, to)
    sign_in(page, site, "viewer")
    page.goto(f"{site.base}/ui/kpis")
    for row in report.rows:
        cells = page.locator(f"tr[data-kpi='{row.name}'] td")
        if row.dtem is not None:
            shown = number(cells.nth(1).inner_text())
            want = 100 * row.dtem if row.unit == "share" else row.dtem
            assert shown == pytest.approx(want, abs=0.051), row.name


def test_the_team_page_shows_each_reps_load_and_the_pilot(page: Any, site: Site) -> None:
    load = dashboard.capacity_now(site.c.ledger)
    sign_in(page, site, "manager")
    page.goto(f"{site.base}/ui/team?pilot=tank")
    for r in load.reps:
        cell = page.locator(f"tr[data-rep='{r.rep.external_id}'] [data-active]")
        assert number(cell.inner_text()) == r.active_leases
    assert "Pod R1, R2" in page.locator("main").inner_text()


def test_signing_out_ends_the_session(page: Any, site: Site) -> None:
    sign_in(page, site, "manager")
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{site.base}/ui/kpis")
    assert page.url.startswith(f"{site.base}/ui/login?next=")
