"""POST webhook deliveries over HTTP(S) with httpx (the `WebhookSender` of the dispatcher).

Redirects are not followed (a subscriber's URL is the one it registered). Connecting,
sending and each read wait at most `timeout` seconds: a subscriber that accepts the
connection and never answers costs the dispatcher one `timeout`, and routing nothing.
"""

from __future__ import annotations

import httpx

import dtem
from dtem.domain.webhooks import WebhookSendFailed


class HttpxSender:
    """One connection pool shared by the dispatcher's threads (httpx clients are thread-safe).

    >>> # status = HttpxSender().post("https://hooks.example.com/dtem", b"{}", {}, 5.0)
    """

    def __init__(self) -> None:
        self._client = httpx.Client(
            follow_redirects=False,
            headers={"User-Agent": f"dtem-webhooks/{dtem.__version__}"},
        )

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        try:
            answer = self._client.post(
                url, content=body, headers=headers, timeout=httpx.Timeout(timeout)
            )
        except httpx.TimeoutException as exc:
            raise WebhookSendFailed(
                f"no answer within {timeout:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise WebhookSendFailed(f"{type(exc).__name__}: {exc}") from exc
        return answer.status_code

    def close(self) -> None:
        self._client.close()
