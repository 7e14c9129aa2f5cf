"""The gateway's fallback rule (contract decision 9), status by status, through the fluent API."""

from __future__ import annotations

import pytest

from emulator.testing import InProcessEmulator

URL = "/v3/router/responses"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_each_default_fallback_code_falls_back(responses_emulator: InProcessEmulator, status: int) -> None:
    responses_emulator.model("first/m").fails(status)
    body = {"model": "first/m", "input": "hi", "fallbacks": [{"model": "second/m"}]}
    answered = responses_emulator.httpx_client().post(URL, json=body)
    assert answered.status_code == 200, answered.text
    assert answered.json()["model"] == "second/m"
    assert answered.headers["x-emulator-attempt-log"] == f"first/m {status}, second/m ok"


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
     (404, "not_found_error"), (408, "invalid_request_error"), (501, "server_error")],
)  # fmt: skip
def test_other_codes_end_the_request(
    responses_emulator: InProcessEmulator, status: int, error_type: str
) -> None:
    responses_emulator.model("first/m").fails(status)
    body = {"model": "first/m", "input": "hi", "fallbacks": [{"model": "second/m"}]}
    refused = responses_emulator.httpx_client().post(URL, json=body)
    assert refused.status_code == status
    assert refused.headers["x-emulator-attempts"] == "1"
    assert refused.json()["error"]["type"] == error_type
