"""The pytest plugin, as its users meet it: test files run by pytester, results and output read."""

from __future__ import annotations

import re
import textwrap

import pytest

pytest_plugins = ["pytester"]

TOOLS = """
TOOLS = [{"type": "function", "name": "get_weather",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_in_process_fixture_reaches_the_app_through_asgi_only(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import socket

        import pytest

        @pytest.fixture(autouse=True)
        def no_sockets(monkeypatch):
            def refuse(*args, **kwargs):
                raise AssertionError("a socket was opened")
            monkeypatch.setattr(socket.socket, "connect", refuse)

        def test_urls(responses_emulator):
            assert responses_emulator.api_key == "emulator-dev-key"
            assert responses_emulator.openai_base_url == responses_emulator.base_url + "/v3/router"
            assert responses_emulator.orq_server_url == responses_emulator.base_url

        def test_openai(responses_emulator):
            client = responses_emulator.openai_client()
            created = client.responses.create(model="openai/gpt-4o", input="Say hi")
            assert created.status == "completed" and created.output_text
            assert client.responses.retrieve(created.id).output_text == created.output_text
            events = [e.type for e in client.responses.create(model="openai/gpt-4o", input="Say hi", stream=True)]
            assert events[0] == "response.created" and events[-1] == "response.completed"

        def test_orq(responses_emulator):
            orq = responses_emulator.orq_client()
            created = orq.responses.create(model="openai/gpt-4o", input="Say hi")
            assert orq.responses.get(response_id=created.id).id == created.id
            with orq.responses.create(model="openai/gpt-4o", input="Say hi", stream=True) as stream:
                assert [e.data.type for e in stream][-1] == "response.completed"

        def test_httpx(responses_emulator):
            with responses_emulator.httpx_client() as http:
                answer = http.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "hi"})
                assert answer.status_code == 200
                assert http.get(f"/v3/router/responses/{answer.json()['id']}").status_code == 200

        def test_fresh_per_test(responses_emulator):
            assert responses_emulator.requests == []

        @pytest.mark.anyio
        async def test_async_clients(responses_emulator):
            responses_emulator.on(message="ping").reply("pong")
            async with responses_emulator.async_openai_client() as client:
                answer = await client.responses.create(model="openai/gpt-4o", input="ping")
                events = [e.type async for e in await client.responses.create(model="openai/gpt-4o", input="ping", stream=True)]
            assert answer.output_text == "pong" and events[-1] == "response.completed"
            async with responses_emulator.async_httpx_client() as http:
                got = await http.get(f"/v3/router/responses/{answer.id}")
            assert got.json()["id"] == answer.id

        @pytest.fixture
        def anyio_backend():
            return "asyncio"
        """,
    )
    result.assert_outcomes(passed=6)


def test_the_fluent_tool_loop_through_each_sdk_and_mode(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        TOOLS
        + """
import pytest

@pytest.fixture
def emu(responses_emulator):
    responses_emulator.on(input_contains="weather").call_tool("get_weather", city="Paris").then_reply("Sunny")
    return responses_emulator

@pytest.mark.parametrize("stream", [False, True])
def test_openai_continues_with_previous_response_id(emu, stream):
    client = emu.openai_client()
    if stream:
        with client.responses.stream(model="openai/gpt-4o", input="What's the weather?", tools=TOOLS) as s:
            first = s.get_final_response()
    else:
        first = client.responses.create(model="openai/gpt-4o", input="What's the weather?", tools=TOOLS)
    call = first.output[0]
    assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", '{"city": "Paris"}')
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "18C"}
    second = client.responses.create(model="openai/gpt-4o", input=[result], previous_response_id=first.id, tools=TOOLS)
    assert second.output_text == "Sunny"
    emu.assert_called(times=2)
    emu.assert_called(times=1, tool_result="get_weather")
    emu.assert_all_scenarios_used()

def test_orq_sends_the_whole_conversation_back(emu):
    orq = emu.orq_client()
    asked = [{"role": "user", "content": "What's the weather?"}]
    first = orq.responses.create(model="openai/gpt-4o", input=asked, tools=TOOLS)
    call = first.output[0]
    assert call["name"] == "get_weather"
    again = asked + [call, {"type": "function_call_output", "call_id": call["call_id"], "output": "18C"}]
    second = orq.responses.create(model="openai/gpt-4o", input=again, tools=TOOLS)
    assert second.output[0]["content"][0]["text"] == "Sunny"
    assert emu.last_request.scenario == "on-input_contains-weather.after-get_weather"
""",
    )
    result.assert_outcomes(passed=3)


def test_scripted_steps_errors_and_model_failures(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import openai
        import pytest

        def test_sequence_and_http_errors(responses_emulator):
            responses_emulator.on(message="busy").http_error(429, "Slow down", retry_after=1).reply("Done")
            client = responses_emulator.openai_client()
            with pytest.raises(openai.RateLimitError, match="Slow down"):
                client.responses.create(model="openai/gpt-4o", input="busy?")
            assert client.responses.create(model="openai/gpt-4o", input="busy?").output_text == "Done"
            assert responses_emulator.last_request.status == 200
            assert [e.status for e in responses_emulator.requests] == [429, 200]

        def test_refusal_and_failure(responses_emulator):
            responses_emulator.on(message="secret").refuse("I can't share that.")
            responses_emulator.on(message="crash").fail("The model crashed.", text="Partial")
            client = responses_emulator.openai_client()
            refused = client.responses.create(model="openai/gpt-4o", input="a secret")
            assert refused.output[0].content[0].refusal == "I can't share that."
            failed = client.responses.create(model="openai/gpt-4o", input="crash now")
            assert failed.status == "failed" and failed.error.message == "The model crashed."

        def test_model_fails_then_the_gateway_retries(responses_emulator):
            responses_emulator.model("openai/gpt-4o").fails(503, times=2)
            with responses_emulator.httpx_client() as http:
                answer = http.post("/v3/router/responses", json={
                    "model": "openai/gpt-4o", "input": "hi", "retry": {"count": 3, "on_codes": [503]}})
            assert answer.status_code == 200
            assert answer.headers["x-emulator-attempts"] == "3"

        def test_model_fails_and_falls_back(responses_emulator):
            responses_emulator.model("openai/gpt-4o").fails(503, times=5)
            client = responses_emulator.orq_client()
            created = client.responses.create(model="openai/gpt-4o", input="hi", fallbacks=[{"model": "anthropic/claude-sonnet-4-5"}])
            assert created.model == "anthropic/claude-sonnet-4-5"

        def test_a_mistake_names_the_line_that_made_it(responses_emulator):
            from emulator.scenarios.source import ScenarioFilesInvalid
            with pytest.raises(ScenarioFilesInvalid, match=r"test_user.py:\\d+: .*status"):
                responses_emulator.on(message="x").http_error(200)

        def test_load_a_document(responses_emulator):
            responses_emulator.load({"scenarios": [{"name": "hello", "reply": {"output": [{"text": "Hi!"}]}}]})
            client = responses_emulator.openai_client()
            assert client.responses.create(model="openai/gpt-4o", input="x").output_text == "Hi!"
            responses_emulator.assert_all_scenarios_used()
        """,
    )
    result.assert_outcomes(passed=6)


def test_failure_messages_show_the_requests_and_the_near_misses(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_called(responses_emulator):
            responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="hello there")
            responses_emulator.assert_called(input_contains="weather", model="openai/*")

        def test_unused(responses_emulator):
            responses_emulator.on(message="weather").reply("Sunny")
            responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="hello there")
            responses_emulator.assert_all_scenarios_used()

        def test_times(responses_emulator):
            client = responses_emulator.openai_client()
            for _ in range(2):
                client.responses.create(model="openai/gpt-4o", input="hello there")
            responses_emulator.assert_called(times=1)

        def test_no_request(responses_emulator):
            responses_emulator.last_request
        """,
    )
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*expected a create request with input_contains='weather', model='openai/*' at least once; 0 of 1 matched",
            "*#0 POST /v3/router/responses model='openai/gpt-4o' input='hello there' -> 200 resp_*",
            "*missed: the input 'hello there' does not contain 'weather'",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*1 scenario(s) answered no request (1 create request(s) made):",
            "*'on-message-weather' (test_user.py:6)",
            "*missed: the last user message 'hello there' does not contain 'weather'",
        ]
    )
    assert "expected a create request with any conditions exactly 1 time; 2 of 2 matched" in out
    assert "the emulator has received no request" in out
    # each failed test's report has the journal section
    assert len(re.findall(r"responses_emulator: requests received", out)) == 4


def test_the_report_section_of_a_failed_test_has_the_near_misses(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        weather="""
        scenarios:
          - name: weather
            match: {last_user_message: weather, model: "openai/*"}
            reply: {output: [{text: Sunny}]}
        """,
    )
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.emulator(scenarios="weather.yaml", strict=True)
        def test_strict(responses_emulator):
            client = responses_emulator.openai_client()
            client.responses.create(model="anthropic/claude", input="is it sunny?")
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*BadRequestError: Error code: 400 - No scenario matched this request. Closest: 'weather'*",
            "*responses_emulator: requests received*",
            "#0 POST /v3/router/responses model='anthropic/claude' input='is it sunny?' -> 400 no_scenario_matched*",
            "*near miss 'weather' (*weather.yaml:2): model 'anthropic/claude' does not match 'openai/*'; "
            "the last user message 'is it sunny?' does not contain 'weather'",
        ]
    )


def test_marker_settings(pytester: pytest.Pytester) -> None:
    pytester.mkdir("data")
    pytester.path.joinpath("data", "hello.yaml").write_text(
        "scenarios:\n  - name: hello\n    reply: {output: [{text: Hello from a file}]}\n"
    )
    result = run(
        pytester,
        """
        import openai
        import pytest

        def text(emu):
            return emu.openai_client().responses.create(model="openai/gpt-4o", input="Say hi").output_text

        @pytest.mark.emulator(scenarios="data/hello.yaml")
        def test_scenarios_beside_the_test(responses_emulator):
            assert text(responses_emulator) == "Hello from a file"

        @pytest.mark.emulator(scenarios=["builtin"])
        def test_builtin(responses_emulator):
            names = {s.name for s in responses_emulator.app.scenarios.loaded.scenarios}
            assert "weather-call" in names

        @pytest.mark.emulator(seed=7)
        def test_seed(responses_emulator, request):
            assert responses_emulator.config.seed == 7

        @pytest.mark.emulator(strict=True)
        def test_strict(responses_emulator):
            client = responses_emulator.openai_client()
            with pytest.raises(openai.BadRequestError, match="No scenario matched"):
                client.responses.create(model="openai/gpt-4o", input="anything")
            with responses_emulator.httpx_client() as http:
                answer = http.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "x", "colour": "red"})
            assert answer.json()["error"]["param"] == "/colour"

        @pytest.mark.emulator(timing="realistic", frozen_time=None)
        def test_any_setting(responses_emulator):
            assert responses_emulator.config.timing == "realistic"
            assert responses_emulator.config.frozen_time is None

        def test_defaults(responses_emulator):
            config = responses_emulator.config
            assert (config.seed, config.frozen_time, config.timing, config.reload) == (0, 1767225600.0, "instant", False)
            first = responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="Say hi")
            assert first.created_at == 1767225600

        @pytest.mark.emulator(colour="red")
        def test_unknown_setting(responses_emulator):
            pass
        """,
    )
    result.assert_outcomes(passed=6, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.emulator: unknown setting(s) colour; settings: *"])


def test_seed_changes_the_words_and_same_seed_repeats_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        def test_words(responses_emulator):
            words = responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="Say hi").output_text
            print("WORDS:", words)
        """
    )

    def words(*args: str) -> str:
        result = pytester.runpytest("-p", "no:cacheprovider", "-s", *args)
        result.assert_outcomes(passed=1)
        return next(line.split("WORDS:")[1] for line in result.outlines if "WORDS:" in line)

    assert words() == words("--emulator-seed", "0")
    assert words("--emulator-seed", "5") != words()
    pytester.makeini("[pytest]\nemulator_seed = 5\n")
    assert words() == words("--emulator-seed", "5")


def test_scenario_options_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml", hello="scenarios:\n  - name: hello\n    reply: {output: [{text: Hello from options}]}\n"
    )
    pytester.makepyfile(
        test_user="""
        import pytest

        def test_text(responses_emulator):
            answer = responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="Say hi")
            assert answer.output_text == "Hello from options"

        @pytest.mark.emulator(scenarios=[])
        def test_marker_replaces_them(responses_emulator):
            assert responses_emulator.config.scenarios == ()
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "--emulator-scenarios", "hello.yaml").assert_outcomes(
        passed=2
    )
    pytester.makeini("[pytest]\nemulator_scenarios = hello.yaml\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


SERVED = """
import json
import subprocess
import sys

import pytest

CLIENT = '''
import json, sys, urllib.request
base, key = sys.argv[1], sys.argv[2]
ask = urllib.request.Request(base + "/v3/router/responses", method="POST",
    data=json.dumps({"model": "openai/gpt-4o", "input": "weather?"}).encode(),
    headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(ask))["output"][0]["content"][0]["text"])
'''

@pytest.mark.parametrize("n", range(6))
def test_a_subprocess_talks_to_a_real_port(responses_emulator_server, n):
    emu = responses_emulator_server
    assert emu.base_url.startswith("http://127.0.0.1:")
    assert emu.requests == []  # a fresh app for every test
    emu.on(input_contains="weather").reply(f"Sunny {n}")
    out = subprocess.run([sys.executable, "-c", CLIENT, emu.base_url, emu.api_key],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == f"Sunny {n}"
    emu.assert_called(times=1, input_contains="weather")
    print("PORT", emu.base_url.rsplit(":", 1)[1])

def test_session_server(responses_emulator_session_server):
    with responses_emulator_session_server.httpx_client() as http:
        assert http.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "x"}).status_code == 200
    assert len(responses_emulator_session_server.requests) == 1
"""


def test_the_served_fixture_gives_each_test_a_fresh_app_on_one_port(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=SERVED)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=7)
    ports = set(re.findall(r"PORT (\d+)", result.stdout.str()))
    assert len(ports) == 1, ports


def test_under_xdist_each_worker_has_its_own_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=SERVED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-rA", timeout=120)
    result.assert_outcomes(passed=7)
    ports = set(re.findall(r"PORT (\d+)", result.stdout.str()))  # -rA shows each test's output
    assert len(ports) == 2, ports


def test_overriding_the_config_fixture_changes_every_emulator(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import dataclasses
        import pytest

        @pytest.fixture
        def responses_emulator_config(responses_emulator_config):
            return dataclasses.replace(responses_emulator_config, seed=42, api_keys=("team-key",))
        """
    )
    result = run(
        pytester,
        """
        def test_in_process(responses_emulator):
            assert (responses_emulator.config.seed, responses_emulator.api_key) == (42, "team-key")
            assert responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="x").status == "completed"

        def test_served(responses_emulator_server):
            assert responses_emulator_server.config.seed == 42
            with responses_emulator_server.httpx_client(headers={"Authorization": "Bearer emulator-dev-key"}) as http:
                assert http.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "x"}).status_code == 401
        """,
    )
    result.assert_outcomes(passed=2)
