"""Server-side tools: orq's platform tools (`orq:*`), MCP servers and web search, run inside the
turn as orq's router runs them, each leaving its own output item before the answer.

Results are generated, deterministic (drawn from the request's random stream and the tool's
place in `tools`) and plausible: `orq:current_date` reads the emulator's clock, searches and
scrapes find pages with titles and URLs, which the answer cites (`url_citation` annotations).
`orq:http` really calls an allowed host when the server allows it (emulator.engine.live_http).

The answer that follows says what each tool found (`Said`). Secret variables reach the one
place a tool sends them, an `orq:http` call's URL, headers and body, and nothing else: the item
keeps the `{{name}}` a secret fills, and a secret echoed back by a live host is redacted. No MCP
server is contacted, so `mcp.headers` stay as sent (their `{{name}}` unfilled).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator.contract.echo import REDACTED, is_secret
from emulator.engine import jsongen, tokens
from emulator.engine.backend import Call
from emulator.engine.items import ItemPlan, last_user_message, mcp_plans, platform_tool_plan, web_search_plan
from emulator.engine.live_http import allowed
from emulator.engine.textgen import TextGenerator
from emulator.engine.tool_choice import words

Tool = dict[str, Any]

# What each server-side tool is about: the words that make the default backend use it (README,
# Tool calls). orq's newer names run as their older twins do.
TOPICS: dict[str, str] = {
    "orq:current_date": "current date time today day now week month year clock",
    "orq:google_search": "google search find look web latest news",
    "orq:web_scraper": "scrape page website site url read link",
    "orq:code_interpreter": "code python run compute calculate execute script program",
    "orq:http": "http api request endpoint url call",
    "orq:function": "function",
    "orq:mcp": "mcp",
    "orq:advisor": "advice advise advisor review opinion",
    "orq:sidekick": "sidekick delegate task draft",
    "web_search": "web search find look online latest news",
}
ALIASES: dict[str, str] = {
    "orq:datetime": "orq:current_date",
    "orq:web_search": "orq:google_search",
    "orq:web_fetch": "orq:web_scraper",
    "orq:subagent": "orq:sidekick",
    "web_search_preview": "web_search",
}
_URL = re.compile(r"https?://[^\s\"'<>)\]]+")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
_TEXT = TextGenerator()
_TLDS = ("com", "org", "net", "io", "dev")


@dataclass(slots=True)
class Said:
    """What the answer says of one tool's result, and the pages it cites (title, url), each
    title appearing in `text`."""

    text: str
    cited: list[tuple[str, str]] = field(default_factory=list)


def about(tool: Tool) -> str:
    """The text a tool is known by (tool choice's word rule); "" for a tool the emulator cannot run."""
    kind = str(tool.get("type", ""))
    if kind == "function":
        return f"{tool.get('name', '')} {tool.get('description') or ''}"
    if kind == "mcp":
        listed = _listed_names(tool)
        if not listed:  # `allowed_tools` leaves it no tool to call
            return ""
        return f"mcp {_label(tool)} {tool.get('server_description', '')} {' '.join(listed)}"
    topic = TOPICS.get(ALIASES.get(kind, kind))
    return "" if topic is None else f"{topic} {tool.get('tool_id', '')}"


def run(tool: Tool, index: int, call: Call, question: str) -> tuple[list[ItemPlan], Said]:
    """Runs the request's `tools[index]` for this turn: its items and what the answer says."""
    kind = ALIASES.get(tool["type"]) or str(tool["type"])
    rng = random.Random(call.digest + f"/tools/{index}".encode())
    return _RUNNERS[kind](_Run(tool, call, question, rng))


def scripted(tool_type: str, arguments: dict[str, Any] | None, call: Call) -> ItemPlan:
    """A scenario's platform tool call without a scripted result: run as the default backend
    runs it, for the offered tool of that type. `orq:http` uses the scenario's arguments (method,
    url, headers, body); the other tools show them as the call's arguments."""
    offered = call.request.get("tools") or ()
    tool = next((t for t in offered if t.get("type") == tool_type), {"type": tool_type})
    run = _Run(tool, call, last_user_message(call.input_items), random.Random(call.digest + b"/scripted"))
    kind = ALIASES.get(tool_type, tool_type)
    if kind == "orq:http":
        return _http_item(run, arguments or {})
    item = _RUNNERS[kind](run)[0][0] if kind in _RUNNERS and kind.startswith("orq:") else run.item(None, {})
    if arguments is not None:
        item.item["arguments"] = json.dumps(arguments)
    return item


@dataclass(slots=True)
class _Run:
    tool: Tool
    call: Call
    question: str
    rng: random.Random

    def sentence(self) -> str:
        return "".join(_TEXT.reply(self.rng.randbytes(128)))

    def words(self, n: int) -> list[str]:
        found = [w.strip(".,").lower() for w in self.sentence().split()]
        return (found * n)[:n]

    def page(self) -> tuple[str, str, str]:
        """A made-up web page: (title, url, snippet)."""
        site, topic, other = self.words(3)
        title = f"{topic.capitalize()} {other}: a guide from {site.capitalize()}"
        url = f"https://www.{site}{other}.{self.rng.choice(_TLDS)}/{topic}-{other}"
        return title, url, self.sentence()

    def query(self) -> str:
        return self.question.strip()[:200] or " ".join(self.words(3))

    def item(self, arguments: dict[str, Any] | None, result: Any) -> ItemPlan:
        text = None if arguments is None else json.dumps(arguments)
        return platform_tool_plan(self.tool["type"], text, result)


def _current_date(run: _Run) -> tuple[list[ItemPlan], Said]:
    now = datetime.fromtimestamp(run.call.created_at, UTC)
    result: dict[str, Any] = {"currentDate": now.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    said = f"It is {now:%A}, {now.day} {now:%B %Y}, {now:%H:%M} UTC."
    if zone := run.tool.get("timezone"):
        try:
            local = now.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            result["timezoneError"] = f"unknown time zone {zone!r}"
        else:
            result.update(timezone=zone, localDate=local.isoformat(timespec="seconds"))
            said += f" In {zone} it is {local:%H:%M}."
    return [run.item(None, result)], Said(said)


def _search(run: _Run) -> tuple[list[ItemPlan], Said]:
    query = run.query()
    count = min(int(run.tool.get("max_results") or 3), 10)
    pages = [run.page() for _ in range(count)]
    results = [{"title": t, "url": u, "snippet": s} for t, u, s in pages]
    item = run.item({"query": query}, {"results": results})
    return [item], _found(query, pages)


def _web_search(run: _Run) -> tuple[list[ItemPlan], Said]:
    query = run.query()
    pages = [run.page() for _ in range(3)]
    return [web_search_plan(query, [u for _, u, _ in pages])], _found(query, pages)


def _found(query: str, pages: list[tuple[str, str, str]]) -> Said:
    cited = pages[:2]
    text = f'Searching for "{query}" found: ' + " ".join(f"{t}: {s}" for t, _, s in cited)
    return Said(text, [(t, u) for t, u, _ in cited])


def _scrape(run: _Run) -> tuple[list[ItemPlan], Said]:
    title, url, content = run.page()
    if found := _URL.search(run.question):
        url = found.group(0)
    result = {"url": url, "title": title, "content": f"{content} {run.sentence()}"}
    return [run.item({"url": url}, result)], Said(f"The page {title} says: {content}", [(title, url)])


def _code(run: _Run) -> tuple[list[ItemPlan], Said]:
    printed = run.sentence()
    code = f"print({printed!r})"
    files = [
        {"file_id": f["file_id"], "name": f["name"], "path": f"/workspace/{f['name']}"}
        for f in run.tool.get("files") or ()
    ]
    result = {"stdout": printed + "\n", "stderr": "", "exit_code": 0, "files": files}
    return [run.item({"code": code}, result)], Said(f"Running the code printed: {printed}")


def _http(run: _Run) -> tuple[list[ItemPlan], Said]:
    found = _URL.search(run.question)
    site, path = run.words(2)
    url = found.group(0) if found else f"https://api.{site}.com/v1/{path}"
    item = _http_item(run, {"method": "GET", "url": url})
    result = item.item["result"]
    said = f"The request to {url} answered {result.get('status', 'nothing')}"
    return [item], Said(said + (f": {result['body'][:200]}" if result.get("body") else "."))


def _http_item(run: _Run, arguments: dict[str, Any]) -> ItemPlan:
    """An `orq:http` call with these arguments (`{{name}}` in the URL and headers is filled from
    the request's variables, secrets included, for the call only)."""
    variables = run.call.request.get("variables") or {}
    values = {k: v.get("value") if isinstance(v, dict) else v for k, v in variables.items()}
    secrets = [str(v["value"]) for v in variables.values() if is_secret(v) and v.get("value")]

    def fill(text: str) -> str:
        return _VARIABLE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    method = str(arguments.get("method", "GET")).upper()
    url = fill(str(arguments.get("url", "")))
    headers = {str(k): fill(str(v)) for k, v in (arguments.get("headers") or {}).items()}
    body = arguments.get("body")
    live = run.call.live_http
    if live is not None and allowed(run.tool, url):
        result = live.call(method, url, headers, None if body is None else fill(json.dumps(body)))
    else:
        reply = {word: run.sentence() for word in run.words(2)}
        result = {"status": 200, "content_type": "application/json", "body": json.dumps(reply)}
    return run.item(arguments, _redacted(result, secrets))


def _redacted(value: Any, secrets: list[str]) -> Any:
    """`value` with every secret's text replaced by the marker (a live host may echo one back)."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _redacted(v, secrets) for k, v in value.items()}
    return value


def _said_tool(word: str, key: str) -> Callable[[_Run], tuple[list[ItemPlan], Said]]:
    """A platform tool orq configures elsewhere (by `tool_id`) that answers with text."""

    def tool(run: _Run) -> tuple[list[ItemPlan], Said]:
        output = run.sentence()
        name = run.tool.get("tool_id") or word
        result: dict[str, Any] = {key: output}
        if key == "content":  # MCP's shape: content parts
            result[key] = [{"type": "text", "text": output}]
        return [run.item({"input": run.query()}, result)], Said(f"The {name} tool returned: {output}")

    return tool


def _consult(role: str, verb: str, key: str) -> Callable[[_Run], tuple[list[ItemPlan], Said]]:
    """`orq:advisor` and `orq:sidekick`: a second model, asked by the first."""

    def tool(run: _Run) -> tuple[list[ItemPlan], Said]:
        output = run.sentence()
        model = run.tool.get("model", "")
        asked = {"question" if role == "advisor" else "task": run.query()}
        item = run.item(asked, {"model": model, key: output})
        return [item], Said(f"The {role} ({model}) {verb}: {output}")

    return tool


def _mcp(run: _Run) -> tuple[list[ItemPlan], Said]:
    tool, label = run.tool, _label(run.tool)
    listed = [_listed(name, tool) for name in _listed_names(tool)]
    asked = words(run.question)
    chosen = max(listed, key=lambda t: (len(asked & words(t["name"])), -listed.index(t)))
    schema = chosen["input_schema"]
    if "query" in schema.get("properties", {}):
        arguments = json.dumps({"query": run.query()})
    else:
        arguments = json.dumps(jsongen.generate(schema, run.rng))
    output = run.sentence()
    items = mcp_plans(label, listed, chosen["name"], tokens.tokenize(arguments), output)
    return items, Said(f"{label}'s {chosen['name']} tool returned: {output}")


_DEFAULT_MCP_TOOLS = ("search", "fetch", "create_item")
_READ_ONLY = frozenset(("search", "fetch"))
_QUERY = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}


def _listed_names(tool: Tool) -> list[str]:
    """The tools the (imagined) server offers: those `allowed_tools` names, else a search, a
    fetch and a write; `read_only` keeps the ones that only read."""
    allowed_tools = tool.get("allowed_tools") or {}
    if "tool_names" in allowed_tools:
        return list(dict.fromkeys(n for n in allowed_tools["tool_names"] if n))  # named once, non-empty
    return [n for n in _DEFAULT_MCP_TOOLS if n in _READ_ONLY or not allowed_tools.get("read_only")]


def _listed(name: str, tool: Tool) -> dict[str, Any]:
    read_only = name in _READ_ONLY or bool((tool.get("allowed_tools") or {}).get("read_only"))
    return {
        "name": name,
        "description": f"{name.replace('_', ' ').capitalize()} on {_label(tool)}.",
        "input_schema": _QUERY,
        "annotations": {"readOnlyHint": read_only},
    }


def _label(tool: Tool) -> str:
    if label := tool.get("server_label") or tool.get("key"):
        return str(label)
    match = re.match(r"https?://([^/:]+)", tool.get("server_url", ""))
    return match.group(1) if match else "mcp"


_RUNNERS: dict[str, Callable[[_Run], tuple[list[ItemPlan], Said]]] = {
    "orq:current_date": _current_date,
    "orq:google_search": _search,
    "orq:web_scraper": _scrape,
    "orq:code_interpreter": _code,
    "orq:http": _http,
    "orq:function": _said_tool("function", "output"),
    "orq:mcp": _said_tool("MCP", "content"),
    "orq:advisor": _consult("advisor", "suggests", "advice"),
    "orq:sidekick": _consult("sidekick", "answered", "output"),
    "mcp": _mcp,
    "web_search": _web_search,
}


def answer(said: list[Said]) -> tuple[str, list[dict[str, Any]]]:
    """The answer's text after the tools ran, and its citations of the pages they found."""
    text, annotations = "", []
    for part in said:
        start = len(text) + (1 if text else 0)
        text = f"{text} {part.text}" if text else part.text
        for title, url in part.cited:
            at = start + part.text.index(title)
            cited = {"start_index": at, "end_index": at + len(title), "url": url, "title": title}
            annotations.append({"type": "url_citation", **cited})
    return text, annotations
