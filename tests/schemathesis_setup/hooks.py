"""A check schemathesis runs on the emulator besides its own (see tests/test_schemathesis.py).

A request the schema calls valid may still point at state the server does not have: a response id
it never made (`previous_response_id`), a function call output whose call is in no earlier turn, or
a replay after a stream's last event. The contract makes those 400s (decision 8), so schemathesis's positive-data check is told 400 is expected, and this
check takes its place for 400s: a valid request may be refused for missing state, and for nothing
else.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis

from emulator.contract import schemas

FAIL_PATTERN = schemas.load(schemas.EMULATOR_API)["$defs"]["FailHeader"]["pattern"]

# (code, param, what the message says) of each refusal for missing state
STATE_REFUSALS = [
    ("previous_response_not_found", r"/previous_response_id", "not found"),
    ("invalid_request_body", r"/input/\d+/call_id", "answers no function_call of this conversation"),
    ("invalid_request", r"starting_after", "before the stream's last event"),
    ("response_not_cancellable", r"response_id", "only"),  # not a background one, or finished
    ("invalid_request", r"after|before", "No "),  # a page cursor naming no item there
]


@schemathesis.check
def valid_requests_are_refused_only_for_missing_state(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return
    if case.method.upper() == "HEAD":  # no body to read: the only state a HEAD names is starting_after
        assert "starting_after" in (case.query or {}), "a valid HEAD request was refused"
        return
    error = json.loads(response.content)["error"]
    if error["param"] == "x-emulator-fail" and not re.search(
        FAIL_PATTERN, (case.headers or {}).get(error["param"], "")
    ):
        return  # the value breaks the documented pattern too: schemathesis called it valid in error
    assert any(
        error["code"] == code and re.fullmatch(param, error["param"] or "") and said in error["message"]
        for code, param, said in STATE_REFUSALS
    ), f"a valid request was refused: {error['message']}"


@schemathesis.hook
def map_headers(ctx: Any, headers: dict[str, str] | None) -> dict[str, str] | None:
    """No faults on demand: x-emulator-fail breaks responses on purpose (a dropped connection, a
    malformed frame), which tests/test_stream_faults.py and tests/test_gateway_matrix.py check."""
    if headers:
        headers.pop("x-emulator-fail", None)
    return headers
