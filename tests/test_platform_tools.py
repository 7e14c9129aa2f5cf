"""Platform tools with no scenario: each runs server-side inside the turn and leaves its own item
before the answer, in JSON and stream mode, read by the orq SDK (and OpenAI's for the items it
types); the word rule and tool_choice over them; `orq:http`'s live calls against a
pytest-httpserver upstream; secrets that reach a tool and nothing else. Expected values are
written by hand from the README's table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from orq_ai_sdk import Orq
from pytest_httpserver import HTTPServer
from werkzeug import Response

from emulator.app import create_app
from emulator.config import DEV_API_KEY
from emulator.testing import ServedEmulator
from tests.support import AUTH, assert_contract_response, assert_contract_stream, make_config

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}  # fmt: skip


def result_of(response: dict[str, Any], n: int = 0) -> Any:
    return response["output"][n]["result"]


def answer_of(response: dict[str, Any]) -> dict[str, Any]:
    message = response["output"][-1]
    assert message["type"] == "message"
    part: dict[str, Any] = message["content"][0]
    return part


def arguments_of(response: dict[str, Any], n: int = 0) -> Any:
    return json.loads(response["output"][n]["arguments"])


def check_current_date(r: dict[str, Any]) -> None:
    assert result_of(r) == {"currentDate": "2026-01-01T00:00:00.000Z"}  # the frozen clock, T0
    assert answer_of(r)["text"] == "It is Thursday, 1 January 2026, 00:00 UTC."
    assert "arguments" not in r["output"][0]  # as orq's documented item


def check_google_search(r: dict[str, Any]) -> None:
    assert arguments_of(r) == {"query": "Search for the latest news on Rust"}
    results = result_of(r)["results"]
    assert len(results) == 3 and all(set(x) == {"title", "url", "snippet"} for x in results)
    check_citations(answer_of(r), results[:2])


def check_web_scraper(r: dict[str, Any]) -> None:
    assert arguments_of(r) == {"url": "https://docs.example.org/guide"}
    result = result_of(r)
    assert result["url"] == "https://docs.example.org/guide" and result["content"]
    check_citations(answer_of(r), [result])


def check_code_interpreter(r: dict[str, Any]) -> None:
    result = result_of(r)
    assert (result["exit_code"], result["stderr"]) == (0, "")
    assert result["files"] == [{"file_id": "file_1", "name": "data.csv", "path": "/workspace/data.csv"}]
    printed = result["stdout"].removesuffix("\n")
    assert arguments_of(r) == {"code": f"print({printed!r})"}
    assert answer_of(r)["text"] == f"Running the code printed: {printed}"


def check_http(r: dict[str, Any]) -> None:
    assert arguments_of(r) == {"method": "GET", "url": "https://api.example.com/v1/weather"}
    result = result_of(r)
    assert (result["status"], result["content_type"]) == (200, "application/json")
    assert isinstance(json.loads(result["body"]), dict)
    assert answer_of(r)["text"].startswith(
        "The request to https://api.example.com/v1/weather answered 200: {"
    )


def check_function(r: dict[str, Any]) -> None:
    output = result_of(r)["output"]
    assert r["output"][0]["name"] == "function"
    assert answer_of(r)["text"] == f"The lookup tool returned: {output}"


def check_orq_mcp(r: dict[str, Any]) -> None:
    (content,) = result_of(r)["content"]
    assert content["type"] == "text"
    assert answer_of(r)["text"] == f"The crm tool returned: {content['text']}"


def check_advisor(r: dict[str, Any]) -> None:
    result = result_of(r)
    assert result["model"] == "anthropic/claude-sonnet-4"
    assert arguments_of(r) == {"question": "I need advice on this plan"}
    assert answer_of(r)["text"] == f"The advisor (anthropic/claude-sonnet-4) suggests: {result['advice']}"


def check_sidekick(r: dict[str, Any]) -> None:
    result = result_of(r)
    assert arguments_of(r) == {"task": "Delegate this task please"}
    assert answer_of(r)["text"] == f"The sidekick (openai/gpt-4o-mini) answered: {result['output']}"


def check_mcp(r: dict[str, Any]) -> None:
    listing, call = r["output"][0], r["output"][1]
    assert listing["server_label"] == "github"
    assert [t["name"] for t in listing["tools"]] == ["search", "fetch", "create_item"]
    assert [t["annotations"]["readOnlyHint"] for t in listing["tools"]] == [True, True, False]
    assert (call["server_label"], call["name"], call["status"]) == ("github", "search", "completed")
    assert json.loads(call["arguments"]) == {"query": "Search github for emulators"}
    assert answer_of(r)["text"] == f"github's search tool returned: {call['output']}"


def check_citations(part: dict[str, Any], pages: list[dict[str, Any]]) -> None:
    """Each page is cited where its title stands in the text, with its URL."""
    assert len(part["annotations"]) == len(pages)
    for annotation, page in zip(part["annotations"], pages, strict=True):
        assert annotation["type"] == "url_citation"
        assert (annotation["url"], annotation["title"]) == (page["url"], page["title"])
        assert part["text"][annotation["start_index"] : annotation["end_index"]] == page["title"]


# (tool, question, output item types, checks): everything the orq SDK can send
CASES: dict[str, tuple[dict[str, Any], str, list[str], Callable[[dict[str, Any]], None]]] = {
    "current_date": ({"type": "orq:current_date"}, "What is the date today?", ["orq:current_date", "message"], check_current_date),
    "google_search": ({"type": "orq:google_search"}, "Search for the latest news on Rust", ["orq:google_search", "message"], check_google_search),
    "web_scraper": ({"type": "orq:web_scraper"}, "Read the page https://docs.example.org/guide", ["orq:web_scraper", "message"], check_web_scraper),
    "code_interpreter": ({"type": "orq:code_interpreter", "files": [{"file_id": "file_1", "name": "data.csv"}]}, "Run some python code", ["orq:code_interpreter", "message"], check_code_interpreter),
    "http": ({"type": "orq:http", "tool_id": "weather_api"}, "Call the api at https://api.example.com/v1/weather", ["orq:http", "message"], check_http),
    "function": ({"type": "orq:function", "tool_id": "lookup"}, "Use the lookup function", ["orq:function", "message"], check_function),
    "orq_mcp": ({"type": "orq:mcp", "tool_id": "crm"}, "Ask the crm", ["orq:mcp", "message"], check_orq_mcp),
    "advisor": ({"type": "orq:advisor", "model": "anthropic/claude-sonnet-4"}, "I need advice on this plan", ["orq:advisor", "message"], check_advisor),
    "sidekick": ({"type": "orq:sidekick", "model": "openai/gpt-4o-mini"}, "Delegate this task please", ["orq:sidekick", "message"], check_sidekick),
    "mcp": ({"type": "mcp", "key": "github", "server_url": "https://api.githubcopilot.com/mcp/",
             "headers": {"Authorization": "Bearer {{gh_token}}"}},
            "Search github for emulators", ["mcp_list_tools", "mcp_call", "message"], check_mcp),
}  # fmt: skip
SECRET = "ghp-secret-4f9a"
VARIABLES = {"gh_token": {"secret": True, "value": SECRET}}


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config()) as emulator:
        yield emulator


def body_for(case: str) -> dict[str, Any]:
    tool, question, _, _ = CASES[case]
    return {"model": MODEL, "input": question, "tools": [tool], "variables": VARIABLES}


@pytest.mark.parametrize("case", CASES)
def test_each_tool_runs_in_json_and_stream_alike(served: ServedEmulator, case: str) -> None:
    _, _, types, check = CASES[case]
    url = served.base_url + URL
    plain = httpx.post(url, json=body_for(case), headers=AUTH)
    assert plain.status_code == 200, plain.text
    response = plain.json()
    assert_contract_response(response)
    assert [item["type"] for item in response["output"]] == types
    check(response)
    streamed = httpx.post(url, json={**body_for(case), "stream": True}, headers=AUTH)
    stream = assert_contract_stream(streamed.content)
    final = stream.events[-1]["response"]
    check(final)
    # the same request gets the same results, however it is sent (ids aside)
    assert [_without_ids(i) for i in final["output"]] == [_without_ids(i) for i in response["output"]]
    for channel in (plain.text, streamed.text, httpx.get(f"{url}/{final['id']}", headers=AUTH).text):
        assert SECRET not in channel


def _without_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("id", "call_id")}


@pytest.mark.parametrize("mode", ["json", "stream"])
@pytest.mark.parametrize("case", CASES)
def test_the_orq_sdk_reads_every_tool(served: ServedEmulator, case: str, mode: str) -> None:
    _, _, types, check = CASES[case]
    client = Orq(api_key=DEV_API_KEY, server_url=served.base_url)
    if mode == "json":
        response = client.responses.create(**body_for(case)).model_dump(by_alias=True)
    else:
        events = [wrapper.data for wrapper in client.responses.create(**body_for(case), stream=True)]
        assert events[0].type == "response.created" and events[-1].type == "response.completed"
        response = events[-1].response.model_dump(by_alias=True)
    assert [item["type"] for item in response["output"]] == types
    check(response)


def test_stream_events_of_server_side_items(served: ServedEmulator) -> None:
    """The events between each item's added and done, by hand: none for orq:*, the progress and
    argument events for MCP, the search steps for web search."""

    dated = httpx.post(served.base_url + URL, json={**body_for("current_date"), "stream": True}, headers=AUTH)
    types = [e["type"] for e in assert_contract_stream(dated.content).events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
    ]

    mcp = httpx.post(served.base_url + URL, json={**body_for("mcp"), "stream": True}, headers=AUTH)
    events = assert_contract_stream(mcp.content).events
    types = [e["type"] for e in events]
    arguments = [e for e in events if e["type"] == "response.mcp_call_arguments.delta"]
    assert len(arguments) > 1  # streamed in pieces, like a function's
    assert types[2 : 2 + 9 + len(arguments)] == [
        "response.output_item.added", "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed", "response.output_item.done",
        "response.output_item.added", "response.mcp_call.in_progress",
        *["response.mcp_call_arguments.delta"] * len(arguments),
        "response.mcp_call_arguments.done", "response.mcp_call.completed", "response.output_item.done",
    ]  # fmt: skip
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert added[0]["item"]["tools"] == [] and added[1]["item"]["arguments"] == ""
    assert "".join(e["delta"] for e in arguments) == events[-1]["response"]["output"][1]["arguments"]

    search = {"model": MODEL, "input": "Search the web for news", "tools": [{"type": "web_search"}]}
    found = httpx.post(served.base_url + URL, json={**search, "stream": True}, headers=AUTH)
    types = [e["type"] for e in assert_contract_stream(found.content).events]
    assert types[2:7] == [
        "response.output_item.added", "response.web_search_call.in_progress",
        "response.web_search_call.searching", "response.web_search_call.completed", "response.output_item.done",
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["json", "stream"])
def test_web_search_through_the_openai_sdk(served: ServedEmulator, mode: str) -> None:
    """orq's SDK cannot send `web_search` (its tools union is closed); OpenAI's types its items."""
    client = served.openai_client()
    request: dict[str, Any] = {
        "model": MODEL,
        "input": "Find the latest news on Python",
        "tools": [{"type": "web_search"}],
    }
    if mode == "json":
        response = client.responses.create(**request)
    else:
        with client.responses.stream(**request) as stream:
            response = stream.get_final_response()
    search, message = response.output
    assert search.type == "web_search_call" and search.status == "completed"
    assert search.action.type == "search" and search.action.query == "Find the latest news on Python"
    assert len(search.action.sources) == 3
    (part,) = message.content
    cited = [a.url for a in part.annotations]
    assert len(cited) == 2 and cited == [s.url for s in search.action.sources[:2]]
    for annotation in part.annotations:
        assert annotation.type == "url_citation"
        assert part.text[annotation.start_index : annotation.end_index] == annotation.title


def test_mcp_items_through_the_openai_sdk(served: ServedEmulator) -> None:
    tool = {**CASES["mcp"][0], "server_label": "github"}  # OpenAI's form: the server by label
    response = served.openai_client().responses.create(
        model=MODEL, input="Search github for emulators", tools=[tool], extra_body={"variables": VARIABLES}
    )
    listing, call, _ = response.output
    assert (listing.type, call.type) == ("mcp_list_tools", "mcp_call")
    assert [t.name for t in listing.tools] == ["search", "fetch", "create_item"]
    assert call.name == "search" and call.output and call.error is None


def test_mcp_allowed_tools_and_read_only(served: ServedEmulator) -> None:
    def listed(allowed: dict[str, Any], question: str = "mcp please") -> tuple[list[str], str]:
        tool = {"type": "mcp", "server_label": "docs", "allowed_tools": allowed}
        r = httpx.post(
            served.base_url + URL, json={"model": MODEL, "input": question, "tools": [tool]}, headers=AUTH
        )
        return [t["name"] for t in r.json()["output"][0]["tools"]], r.json()["output"][1]["name"]

    assert listed({"read_only": True}) == (["search", "fetch"], "search")
    assert listed({"tool_names": ["lookup_page", "open_ticket"]}, "mcp: open a ticket") == (
        ["lookup_page", "open_ticket"],
        "open_ticket",
    )


def post(served: ServedEmulator, **body: Any) -> dict[str, Any]:
    reply = httpx.post(served.base_url + URL, json={"model": MODEL, **body}, headers=AUTH)
    assert reply.status_code == 200, reply.text
    response: dict[str, Any] = reply.json()
    assert_contract_response(response)
    return response


def types_of(response: dict[str, Any]) -> list[str]:
    return [item["type"] for item in response["output"]]


DATE, SEARCH = {"type": "orq:current_date"}, {"type": "orq:google_search"}


def test_tool_choice_over_platform_tools(served: ServedEmulator) -> None:
    assert types_of(post(served, input="What is the date today?", tools=[DATE], tool_choice="none")) == [
        "message"
    ]
    assert types_of(post(served, input="Tell me a joke", tools=[DATE])) == ["message"]  # no shared word
    assert types_of(post(served, input="Tell me a joke", tools=[SEARCH, DATE], tool_choice="required")) == [
        "orq:google_search",
        "message",
    ]
    both = post(served, input="Search the web for today's date", tools=[SEARCH, DATE])
    assert types_of(both) == ["orq:google_search", "orq:current_date", "message"]
    one = post(served, input="Search the web for today's date", tools=[SEARCH, DATE], max_tool_calls=1)
    assert types_of(one) == ["orq:google_search", "message"]  # a tie: the first offered
    allowed = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "orq:current_date"}]}
    assert types_of(post(served, input="Hello", tools=[SEARCH, DATE], tool_choice=allowed)) == [
        "orq:current_date",
        "message",
    ]


def test_a_platform_tool_then_a_function_ends_the_turn_for_the_client(served: ServedEmulator) -> None:
    first = post(served, input="What's the weather today?", tools=[DATE, WEATHER])
    assert types_of(first) == ["orq:current_date", "function_call"]
    assert first["status"] == "requires_action"  # a plain HTTP client (contract decision 4)
    call = first["output"][1]
    second = post(
        served, previous_response_id=first["id"], tools=[DATE, WEATHER],
        input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "18C"}],
    )  # fmt: skip
    assert types_of(second) == ["message"]  # the tools ran in the turn before
    assert answer_of(second)["text"] == "Here is what I found: get_weather returned 18C."


def test_structured_output_after_a_tool_is_json_not_a_report(served: ServedEmulator) -> None:
    schema = {
        "type": "object",
        "properties": {"day": {"type": "string"}},
        "required": ["day"],
        "additionalProperties": False,
    }
    text = {"format": {"type": "json_schema", "name": "day", "schema": schema, "strict": True}}
    response = post(served, input="What day is it today?", tools=[DATE], text=text)
    assert types_of(response) == ["orq:current_date", "message"]
    assert set(json.loads(answer_of(response)["text"])) == {"day"}


def test_same_seed_same_bytes() -> None:
    from starlette.testclient import TestClient

    body = {"model": MODEL, "input": "Search github, the web and the date today", "stream": False,
            "tools": [SEARCH, DATE, CASES["mcp"][0], {"type": "web_search"}], "variables": VARIABLES}  # fmt: skip
    bodies = [
        TestClient(create_app(make_config())).post(URL, json=body, headers=AUTH).content for _ in range(2)
    ]
    assert bodies[0] == bodies[1]
    assert types_of(json.loads(bodies[0])) == [
        "orq:google_search",
        "orq:current_date",
        "mcp_list_tools",
        "mcp_call",
        "web_search_call",
        "message",
    ]


# --- orq:http for real: only under --allow-live-http, only to an allowlisted host ----------------


@pytest.fixture(scope="module")
def live() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config(allow_live_http=True)) as emulator:
        yield emulator


def http_tool(*hosts: str, mode: str = "allowlist") -> dict[str, Any]:
    return {"type": "orq:http", "tool_id": "weather_api", "network": {"mode": mode, "allowlist": list(hosts)}}


@pytest.mark.parametrize("mode", ["json", "stream"])
def test_live_http_calls_an_allowed_host(live: ServedEmulator, httpserver: HTTPServer, mode: str) -> None:
    upstream = httpserver.expect_request("/weather", method="GET")
    upstream.respond_with_data('{"temp_c": 18}', content_type="application/json")
    body = {
        "model": MODEL,
        "input": f"Call the api at {httpserver.url_for('/weather')}",
        "tools": [http_tool("localhost")],
    }
    if mode == "json":
        response = post(live, **body)
    else:
        streamed = httpx.post(live.base_url + URL, json={**body, "stream": True}, headers=AUTH)
        response = assert_contract_stream(streamed.content).events[-1]["response"]
    assert result_of(response) == {
        "status": 200,
        "content_type": "application/json",
        "body": '{"temp_c": 18}',
    }
    assert answer_of(response)["text"].endswith('answered 200: {"temp_c": 18}')
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("server", "tool"),
    [("live", http_tool("example.com")), ("live", http_tool("localhost", mode="disabled")),
     ("live", {"type": "orq:http"}), ("served", http_tool("localhost"))],
    ids=["host-not-allowed", "network-disabled", "no-network", "server-not-allowing"],
)  # fmt: skip
def test_no_live_call_unless_both_allow_it(
    request: pytest.FixtureRequest, httpserver: HTTPServer, server: str, tool: dict[str, Any]
) -> None:
    emulator: ServedEmulator = request.getfixturevalue(server)
    httpserver.expect_request("/weather").respond_with_json({"temp_c": 18})
    response = post(emulator, input=f"Call the api at {httpserver.url_for('/weather')}", tools=[tool])
    assert httpserver.log == []
    assert result_of(response)["status"] == 200 and result_of(response)["body"] != '{"temp_c": 18}'


def test_a_secret_reaches_the_live_call_and_nothing_else(
    live: ServedEmulator, httpserver: HTTPServer
) -> None:
    secret = "sk-live-7d1e-secret"
    httpserver.expect_request("/me").respond_with_handler(
        lambda request: Response(
            f"you sent {request.headers.get('Authorization')}", content_type="text/plain"
        )
    )
    live.load({"scenarios": [{
        "name": "authorised-call",
        "match": {"last_user_message": "who am i"},
        "reply": {"output": [
            {"tool_result": {"tool": "orq:http", "arguments": {
                "url": httpserver.url_for("/me"), "headers": {"Authorization": "Bearer {{api_key}}"}}}},
            {"text": "Done."},
        ]},
    }]})  # fmt: skip
    body = {"model": MODEL, "input": "who am i", "tools": [http_tool("localhost")],
            "variables": {"api_key": {"secret": True, "value": secret}}}  # fmt: skip
    plain = httpx.post(live.base_url + URL, json=body, headers=AUTH)
    streamed = httpx.post(live.base_url + URL, json={**body, "stream": True}, headers=AUTH)
    (first, _), (second, _) = httpserver.log
    assert first.headers["Authorization"] == second.headers["Authorization"] == f"Bearer {secret}"
    item = plain.json()["output"][0]
    assert json.loads(item["arguments"])["headers"] == {"Authorization": "Bearer {{api_key}}"}
    assert item["result"]["body"] == "you sent Bearer [REDACTED]"
    stored = httpx.get(f"{live.base_url}{URL}/{plain.json()['id']}", headers=AUTH)
    journal = httpx.get(f"{live.base_url}/_emulator/requests", headers=AUTH)
    for channel in (plain.text, streamed.text, stored.text, journal.text):
        assert secret not in channel
