"""The fluent scripting API's own edges (the plugin tests cover its everyday use)."""

from __future__ import annotations

import pytest

from emulator.testing import InProcessEmulator

URL = "/v3/router/responses"


def test_the_same_conditions_twice_make_two_valid_scenarios(responses_emulator: InProcessEmulator) -> None:
    responses_emulator.on(message="hi").reply("first")
    responses_emulator.on(message="hi").reply("second")
    names = [s.name for s in responses_emulator.app.scenarios.loaded.scenarios]
    assert names == ["on-message-hi", "on-message-hi-2"]
    answered = responses_emulator.httpx_client().post(URL, json={"model": "openai/gpt-4o", "input": "hi"})
    assert answered.json()["output"][0]["content"][0]["text"] == "first"  # declared first, tried first
    assert answered.headers["x-emulator-scenario"] == "on-message-hi"
    with pytest.raises(AssertionError, match="'on-message-hi-2'"):
        responses_emulator.assert_all_scenarios_used()


def test_a_taken_suffix_is_skipped(responses_emulator: InProcessEmulator) -> None:
    responses_emulator.on(name="on-message-hi-2", message="other").reply("named")
    responses_emulator.on(message="hi").reply("one")
    responses_emulator.on(message="hi").reply("two")
    names = [s.name for s in responses_emulator.app.scenarios.loaded.scenarios]
    assert names == ["on-message-hi-2", "on-message-hi", "on-message-hi-3"]
