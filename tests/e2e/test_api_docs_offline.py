"""`/docs` and `/redoc` work without internet: every asset they name is served by DTEM."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Server

_CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def _referenced(html: str) -> list[str]:
    """Every URL a page loads: src/href attributes and the quoted spec/script URLs."""
    attrs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    quoted = re.findall(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    return attrs + quoted


def _check_page(server: Server, path: str, must_load: set[str]) -> None:
    page = httpx.get(f"{server.base_url}{path}", timeout=10)
    assert page.status_code == 200
    urls = _referenced(page.text)
    assert "http://" not in page.text and "https://" not in page.text, "an absolute URL"
    assert must_load <= {u.rsplit("/", 1)[-1] for u in urls}
    for url in urls:
        assert url.startswith("/"), url
        asset = httpx.get(f"{server.base_url}{url}", timeout=10)
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        if suffix in _CONTENT_TYPES:
            assert _CONTENT_TYPES[suffix] in asset.headers["content-type"], url
            assert len(asset.content) > 1000, url


def test_swagger_ui_loads_only_local_assets(server: Server) -> None:
    _check_page(server, "/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "openapi.json"})


def test_redoc_loads_only_local_assets(server: Server) -> None:
    _check_page(server, "/redoc", {"redoc.standalone.js", "openapi.json"})


def test_the_swagger_oauth2_redirect_page_is_served(server: Server) -> None:
    page = httpx.get(f"{server.base_url}/docs/oauth2-redirect", timeout=10)
    assert page.status_code == 200 and "oauth2" in page.text.lower()
