"""The emulator's only outgoing requests: `orq:http` calls under `--allow-live-http`
(emulator.engine.live_http says when)."""

from __future__ import annotations

from typing import Any

import httpx

_MAX_BODY = 16_384  # characters of an answer's body kept in the tool's result
_TIMEOUT = httpx.Timeout(10.0)


class HttpxCaller:
    """Makes the calls with one pooled client (blocking: the service runs such a turn in a thread)."""

    def __init__(self) -> None:
        self._client = httpx.Client(timeout=_TIMEOUT, follow_redirects=False, trust_env=False)

    def call(self, method: str, url: str, headers: dict[str, str], body: str | None) -> dict[str, Any]:
        try:
            answer = self._client.request(method, url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            return {"error": f"the request failed ({type(exc).__name__})"}
        return {
            "status": answer.status_code,
            "content_type": answer.headers.get("content-type", ""),
            "body": answer.text[:_MAX_BODY],
        }
