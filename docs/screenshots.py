"""The README's pictures, taken in headless Chromium: the demo's report and the dashboard.

    python docs/screenshots.py report out/demo/report.html   # → docs/img/report.png
    python docs/screenshots.py dashboard --db sqlite:///data/dtem.db
        # → docs/img/dashboard-pool.png and docs/img/dashboard-rep.png

Needs the dev extras (`playwright`, `pillow`) and Debian's `/usr/bin/chromium`
(`playwright install` is not used). Each PNG is reduced to a 256-colour palette, which
keeps charts and text sharp at a fraction of the size.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("report", help="the demo's out/demo/report.html")
    r.add_argument("html", type=Path)
    r.add_argument("--out", type=Path, default=IMG / "report.png")
    r.add_argument("--figures", type=int, default=3, help="how many plots to include")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    if args.what == "report":
        if not args.html.exists():
            print(f"{args.html} does not exist: run `dtem demo` first", file=sys.stderr)
            return 2
        print(report(args.html, args.out, args.figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
