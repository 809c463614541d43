"""The README's pictures, taken in headless Chromium: the demo's report and the dashboard.

    python docs/screenshots.py report out/demo/report.html   # → docs/img/report.png
    python docs/screenshots.py dashboard --db sqlite:///data/dtem.db
        # → docs/img/dashboard-pool.png and docs/img/dashboard-rep.png (the busiest rep)

Needs the dev extras (`playwright`, `pillow`) and Debian's `/usr/bin/chromium`
(`playwright install` is not used). Each PNG is reduced to a 256-colour palette, which
keeps charts and text sharp at a fraction of the size.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.entrypoints.api.app import create_app
from dtem.services import access
from dtem.services import dashboard as dashboard_views

CHROMIUM = "/usr/bin/chromium"
IMG = Path(__file__).resolve().parent / "img"
WIDTH = 1280


def save_png(png: bytes, path: Path) -> Path:
    """Write `png` as a palette PNG (optimised); return the path."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    palette.save(path, optimize=True)
    return path


def shoot(page: Page, path: Path, max_height: int) -> Path:
    """The page from its top, `WIDTH` wide and at most `max_height` tall."""
    height = min(max_height, int(page.evaluate("document.documentElement.scrollHeight")))
    png = page.screenshot(clip={"x": 0, "y": 0, "width": WIDTH, "height": height}, full_page=True)
    return save_png(png, path)


def report(html: Path, out: Path, figures: int) -> Path:
    """The demo's report down to its `figures`-th plot (Plotly draws before the shot)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 800})
        page.goto(html.resolve().as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg")
        page.wait_for_timeout(500)  # the last figures finish drawing
        bottom = page.evaluate(
            "n => { const f = document.querySelectorAll('.js-plotly-plot');"
            " return f[Math.min(n, f.length) - 1].getBoundingClientRect().bottom + 16; }",
            figures,
        )
        shot = shoot(page, out, int(bottom))
        browser.close()
    return shot


def dashboard(db: str, at: str | None, max_height: int) -> list[Path]:
    """The pool overview and the busiest rep's queue, on a copy of the ledger at `db`
    (the sign-in tokens this needs are made in the copy, never in the ledger itself)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = _copy(db, Path(tmp))
        c = build(Settings(), url, create=False)
        _, admin = access.create_token(c.ledger, c.clock, "admin", "screenshots")
        busiest = max(dashboard_views.capacity_now(c.ledger).reps, key=lambda r: r.active_leases)
        rep = busiest.rep.external_id
        _, rep_token = access.create_token(c.ledger, c.clock, "rep", "screenshots", subject=rep)
        at = at or _latest_score_day(c)
        query = f"?at={at}" if at else ""
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(c), port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        shots = [
            _dashboard_shot(base, admin, f"/{query}", IMG / "dashboard-pool.png", max_height),
            _dashboard_shot(
                base, rep_token, f"/ui/reps/{rep}{query}", IMG / "dashboard-rep.png", max_height
            ),
        ]
        server.should_exit = True
        thread.join(timeout=10)
        c.engine.dispose()
    return shots


def _copy(db: str, folder: Path) -> str:
    source = db.removeprefix("sqlite:///")
    if source == db:
        raise SystemExit("--db: a SQLite URL (sqlite:///path), as `dtem demo` leaves")
    shutil.copy(source, folder / "ledger.db")
    return f"sqlite:///{folder / 'ledger.db'}"


def _latest_score_day(c: Container) -> str | None:
    """The demo's ledger lives in simulated time: show it as of its last score."""
    with c.ledger.transaction() as tx:
        latest = max((r.as_of for r in tx.latest_scores().values()), default=None)
    return None if latest is None else latest.strftime("%Y-%m-%dT%H:%M:%S")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dashboard_shot(base: str, token: str, path: str, out: Path, max_height: int) -> Path:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 800})
        page.goto(f"{base}/ui/login")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.goto(base + path)
        shot = shoot(page, out, max_height)
        browser.close()
    return shot


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("report", help="the demo's out/demo/report.html")
    r.add_argument("html", type=Path)
    r.add_argument("--out", type=Path, default=IMG / "report.png")
    r.add_argument("--figures", type=int, default=3, help="how many plots to include")
    d = sub.add_parser("dashboard", help="the pool overview and a rep's queue")
    d.add_argument("--db", default="sqlite:///data/dtem.db", help="the demo's ledger")
    d.add_argument("--at", help="as of (default: the ledger's last score)")
    d.add_argument("--max-height", type=int, default=1400)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    if args.what == "report":
        if not args.html.exists():
            print(f"{args.html} does not exist: run `dtem demo` first", file=sys.stderr)
            return 2
        print(report(args.html, args.out, args.figures))
    else:
        for shot in dashboard(args.db, args.at, args.max_height):
            print(shot)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
