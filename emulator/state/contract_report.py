"""The contract report: for each client (its User-Agent, with the SDK and version recognised),
every way its requests broke the contract (validation errors: 400s naming a field) or leaned on
the emulator's tolerance (contract warnings: unknown fields, explicit nulls, bare model names),
with a count, the JSON pointer (array indices as `*`), the first message, and one example
request each. This is how a team checks its
real client: point it at the emulator, run it, read `GET /_emulator/contract-report` (or the file
`serve --report-on-exit` writes, or `pytest --emulator-contract-strict`).

Every request's User-Agent is counted in `agents` (`count`) as it is recorded (however many
the journal keeps), and the ones that broke or bent the contract are handed to it; it is bounded: at most
`MAX_CLIENTS` clients and `MAX_FINDINGS` findings each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.state.journal import Exchange

MAX_CLIENTS = 100
MAX_AGENTS = 1000  # distinct User-Agents counted
MAX_FINDINGS = 200
ROUTE_ERRORS = frozenset(("not_found", "method_not_allowed"))  # codes of a path or method no route has
_INDEX = re.compile(r"/\d+(?=/|$)")
# (pattern over the User-Agent, the client's name, the group holding its version)
_CLIENTS = (
    (re.compile(r"speakeasy-sdk/python (\S+) .*orq-ai-sdk"), "orq-ai-sdk (Python)"),
    (re.compile(r"speakeasy-sdk/typescript (\S+) .*@orq-ai/node"), "@orq-ai/node"),
    (re.compile(r"^OpenAI/Python (\S+)"), "openai (Python)"),
    (re.compile(r"^OpenAI/JS (\S+)"), "openai (Node)"),
    (re.compile(r"ai-sdk/openai/(\S+)"), "Vercel AI SDK"),
)


def client_of(user_agent: str) -> str:
    """`orq-ai-sdk (Python) 4.13.19`, `openai (Node) 6.49.0`...; else the User-Agent's first word."""
    for pattern, name in _CLIENTS:
        if (match := pattern.search(user_agent)) is not None:
            return f"{name} {match.group(1)}"
    return user_agent.split(" ", 1)[0] or "(no User-Agent)"


@dataclass(slots=True)
class _Finding:
    kind: str  # error | warning
    pointer: str  # with array indices as *
    message: str
    count: int = 0
    example: dict[str, Any] = field(default_factory=dict)  # the first request that showed it

    def json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "pointer": self.pointer, "message": self.message,
            "count": self.count, "example": self.example,
        }  # fmt: skip


@dataclass(slots=True)
class _Client:
    name: str
    user_agent: str
    requests: int = 0
    findings: dict[tuple[str, str], _Finding] = field(default_factory=dict)  # by (kind, pointer)


def _order(finding: _Finding) -> tuple[str, int]:
    return finding.kind, -finding.count  # errors first, the most frequent first


class ContractReport:
    def __init__(self) -> None:
        self._clients: dict[str, _Client] = {}
        self._by_agent: dict[bytes, _Client] = {}  # User-Agents repeat: recognised once each
        self.agents: dict[bytes, int] = {}  # requests by raw User-Agent, counted by the routes

    def __call__(self, exchange: Exchange) -> None:
        """Looks into one request that broke or bent the contract."""
        agent = exchange.raw_headers.get(b"user-agent", b"")
        client = self._by_agent.get(agent)
        if client is None and (client := self._client(agent)) is None:
            return
        failure = exchange.failure
        found = []
        if failure is not None and failure.status == 400:
            if failure.failures:
                found += [("error", p.param or "", p.message) for p in failure.failures]
            else:
                found.append(("error", failure.param or "", failure.message))
        elif failure is not None and failure.code in ROUTE_ERRORS:  # a route the contract does not have
            found.append(("error", f"{exchange.method} {exchange.path}", failure.message))
        found += [("warning", w.param or "", w.message) for w in exchange.contract_warnings]
        for kind, pointer, message in found:
            key = (kind, _INDEX.sub("/*", pointer))  # one finding per field, whatever the value
            finding = client.findings.get(key)
            if finding is None:
                if len(client.findings) >= MAX_FINDINGS:
                    continue
                example = {"index": exchange.index, "method": exchange.method, "path": exchange.path,
                           "body": exchange.body}  # fmt: skip
                finding = client.findings[key] = _Finding(kind, key[1], message, example=example)
            finding.count += 1

    def count(self, agent: bytes) -> None:
        """One more request from this User-Agent (every request is counted: this is on the hot path)."""
        agents = self.agents
        if (seen := agents.get(agent)) is not None:
            agents[agent] = seen + 1
        elif len(agents) < MAX_AGENTS:  # bounded: a client inventing User-Agents fills nothing
            agents[agent] = 1

    def _client(self, agent: bytes) -> _Client | None:
        user_agent = agent.decode("latin-1")
        name = client_of(user_agent)
        client = self._clients.get(name)
        if client is None:
            if len(self._clients) >= MAX_CLIENTS:
                return None
            client = self._clients[name] = _Client(name, user_agent)
        if len(self._by_agent) < MAX_CLIENTS * 10:
            self._by_agent[agent] = client
        return client

    def _count_requests(self) -> None:
        """Each client's requests, from the routes' count by User-Agent."""
        for known in self._clients.values():
            known.requests = 0
        for agent, count in self.agents.items():
            client = self._by_agent.get(agent) or self._client(agent)
            if client is not None:
                client.requests += count

    @property
    def broken(self) -> bool:
        """Some client sent a request the contract refuses."""
        return any(f.kind == "error" for c in self._clients.values() for f in c.findings.values())

    def json(self) -> dict[str, Any]:
        self._count_requests()
        return {
            "clients": [
                {
                    "client": c.name, "user_agent": c.user_agent, "requests": c.requests,
                    "errors": sum(f.count for f in c.findings.values() if f.kind == "error"),
                    "warnings": sum(f.count for f in c.findings.values() if f.kind == "warning"),
                    "findings": [f.json() for f in sorted(c.findings.values(), key=_order)],
                }
                for c in self._clients.values()
            ]
        }  # fmt: skip

    def summary(self) -> str:
        """The report, readable: a paragraph per client, a line per finding."""
        lines = []
        for client in self.json()["clients"]:
            lines.append(
                f"{client['client']}: {client['requests']} requests, {client['errors']} contract errors, "
                f"{client['warnings']} warnings"
            )
            lines += [f"  {f['kind']:<7} {f['count']:>5}x {f['pointer'] or '(body)'}: {f['message']}"
                      for f in client["findings"]]  # fmt: skip
        return "\n".join(lines) if lines else "no requests"

    def clear(self) -> None:
        self._clients.clear()
        self._by_agent.clear()
        self.agents.clear()
