"""The dashboard: server-rendered pages (Jinja2, autoescaped) with HTMX, served by
`dtem serve` beside the API. No JavaScript build step: htmx ships in `static/`."""
