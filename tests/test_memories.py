"""Memory stores: per-entity documents seeded from scenario files, written, queried and deleted by
scripted memory tools, read by templates and scenario matching, listed and edited through
`/_emulator/memories`, kept until a reset, bounded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulator.app import create_app
from emulator.state.memories import DOCUMENTS_PER_ENTITY, MemoryStore
from emulator.testing import InProcessEmulator
from tests.support import make_config

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"
SEEDS = {
    "memory_stores": [
        {
            "key": "prefs",
            "description": "What each user prefers",
            "entities": {"u1": ["Prefers Python over Go", "Lives in Amsterdam"]},
        }
    ]
}
RECALL = {"template": "{{ memories | join('; ') or 'nothing' }}"}


@pytest.fixture
def emu(responses_emulator: InProcessEmulator) -> InProcessEmulator:
    responses_emulator.load(SEEDS)
    responses_emulator.on(message="Remember").remember(
        {"template": "{{ last_user_message }}"}, reply="Noted."
    )
    responses_emulator.on(message="What do you know").recall("", reply=RECALL)
    return responses_emulator


def ask(client: httpx.Client, text: str, entity: str | None = "u1", **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "input": text, **more}
    if entity is not None:
        body["memory"] = {"entity_id": entity}
    answer = client.post(URL, json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def said(response: Any) -> str:
    return str(next(i for i in response["output"] if i["type"] == "message")["content"][0]["text"])


def test_memory_across_requests_with_the_orq_sdk(emu: InProcessEmulator) -> None:
    orq = emu.orq_client()
    wrote = orq.responses.create(model=MODEL, input="Remember I drink tea", memory={"entity_id": "u1"})
    assert wrote.model_dump()["output"][0]["type"] == "orq:write_memory_store"  # the SDK keeps it as data
    assert said(wrote.model_dump()) == "Noted."
    recalled = orq.responses.create(model=MODEL, input="What do you know about me?",
                                           memory={"entity_id": "u1"})  # fmt: skip
    assert said(recalled.model_dump()) == "Prefers Python over Go; Lives in Amsterdam; Remember I drink tea"
    other = orq.responses.create(model=MODEL, input="What do you know?", memory={"entity_id": "u2"})
    assert said(other.model_dump()) == "nothing"  # memories are per entity


def test_the_memory_tools_items(emu: InProcessEmulator, client: httpx.Client) -> None:
    wrote = ask(client, "Remember I drink tea")["output"][0]
    assert wrote["name"] == "write_memory_store" and wrote["status"] == "completed"
    assert wrote["arguments"] == (
        '{"entity_id": "u1", "memory_store_key": "default", "text": "Remember I drink tea"}'
    )
    assert wrote["result"]["document"]["text"] == "Remember I drink tea"
    assert wrote["result"]["document"]["store"] == "default"
    assert wrote["result"]["document"]["created_at"] == 1767225600
    emu.on(message="ranked").recall("python language", limit=1, reply="ok")
    found = ask(client, "ranked")["output"][0]
    assert found["type"] == "orq:query_memory_store"
    assert [d["text"] for d in found["result"]["documents"]] == ["Prefers Python over Go"]
    emu.on(message="forget").step({"output": [{"memory": {"delete": "Amsterdam"}}, {"text": "gone"}]})
    deleted = ask(client, "forget Amsterdam")["output"][0]
    assert deleted["type"] == "orq:delete_memory_document" and len(deleted["result"]["deleted"]) == 1
    left = client.get("/_emulator/memories/u1").json()["documents"]
    assert [d["text"] for d in left] == ["Prefers Python over Go", "Remember I drink tea"]


def test_a_query_ranks_by_shared_words_then_newest() -> None:
    memory = MemoryStore()
    for text in ("red apple", "green apple pie", "blue sky", "apple"):
        memory.write("e", text, "s", 0)
    assert [d.text for d in memory.query("e", "apple pie")] == ["green apple pie", "apple", "red apple"]
    assert [d.text for d in memory.query("e", "")] == ["apple", "blue sky", "green apple pie", "red apple"]
    assert memory.query("e", "apple", store="other") == []


def test_scenarios_match_on_the_entity_and_its_memories(emu: InProcessEmulator, client: httpx.Client) -> None:
    emu.on(memories="tea").reply("Tea, as always?")
    emu.on(memory_entity_id="vip").reply("Welcome back.")
    assert said(ask(client, "Hello")) != "Tea, as always?"
    ask(client, "Remember I drink tea")
    assert said(ask(client, "Hello")) == "Tea, as always?"
    assert said(ask(client, "Hello", entity="vip")) == "Welcome back."
    first_hello = next(e for e in emu.requests if e.body["input"] == "Hello")
    reasons = [r for m in first_hello.misses for r in m.reasons]
    assert "the memories 'Prefers Python over Go\\nLives in Amsterdam' does not contain 'tea'" in reasons
    assert "memory.entity_id is 'u1', not 'vip'" in reasons


def test_a_memory_tool_needs_an_entity(emu: InProcessEmulator, client: httpx.Client) -> None:
    refused = client.post(URL, json={"model": MODEL, "input": "Remember this"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "memory_entity_id_required"
    assert refused.json()["error"]["param"] == "/memory"


def test_a_streamed_memory_tool_through_the_openai_sdk(emu: InProcessEmulator) -> None:
    oai = emu.openai_client()
    with oai.responses.stream(
        model=MODEL, input="Remember I cycle", extra_body={"memory": {"entity_id": "u1"}}
    ) as s:
        final = s.get_final_response()
    assert [i.type for i in final.output] == ["orq:write_memory_store", "message"]
    recalled = oai.responses.create(
        model=MODEL, input="What do you know?", extra_body={"memory": {"entity_id": "u1"}}
    )
    assert recalled.output_text.endswith("Remember I cycle")


def test_the_admin_api_lists_and_edits_memories(emu: InProcessEmulator, client: httpx.Client) -> None:
    listed = client.get("/_emulator/memories").json()
    assert listed["memory_stores"] == [{"key": "prefs", "description": "What each user prefers"}]
    assert [(e["entity_id"], len(e["documents"])) for e in listed["entities"]] == [("u1", 2)]
    added = client.post("/_emulator/memories/u9", json={"text": "Likes jazz", "store": "prefs"})
    assert added.status_code == 201 and added.json()["store"] == "prefs"
    assert said(ask(client, "What do you know?", entity="u9")) == "Likes jazz"
    replaced = client.put(
        "/_emulator/memories/u9", json={"documents": ["Likes opera", {"text": "Owns a cat"}]}
    )
    assert [d["text"] for d in replaced.json()["documents"]] == ["Likes opera", "Owns a cat"]
    document_id = replaced.json()["documents"][0]["id"]
    assert client.delete(f"/_emulator/memories/u9/{document_id}").status_code == 204
    assert said(ask(client, "What do you know?", entity="u9")) == "Owns a cat"
    assert client.delete(f"/_emulator/memories/u9/{document_id}").status_code == 404
    assert client.delete("/_emulator/memories/u9").status_code == 204
    assert client.get("/_emulator/memories/u9").status_code == 404
    bad = client.put("/_emulator/memories/u9", json={"documents": ["ok", {"text": 3}]})
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "/documents/1/text")
    bad_store = client.post("/_emulator/memories/u9", json={"text": "x", "store": "no spaces"})
    assert (bad_store.status_code, bad_store.json()["error"]["param"]) == (400, "/store")


def test_a_reset_brings_back_the_seeds_only(emu: InProcessEmulator, client: httpx.Client) -> None:
    ask(client, "Remember I drink tea")
    ask(client, "Remember this", entity="u2")
    assert client.post("/_emulator/reset").status_code == 204
    entities = client.get("/_emulator/memories").json()["entities"]
    assert [(e["entity_id"], [d["text"] for d in e["documents"]]) for e in entities] == [
        ("u1", ["Prefers Python over Go", "Lives in Amsterdam"])
    ]


def test_a_reload_replaces_the_seeds_and_keeps_what_was_written(client: httpx.Client) -> None:
    first = "memory_stores:\n  - key: notes\n    entities:\n      u1: [old seed]\n"
    assert client.put("/_emulator/scenarios/seeds", content=first,
                      headers={"content-type": "application/yaml"}).status_code == 200  # fmt: skip
    client.post("/_emulator/memories/u1", json={"text": "written"})
    second = '{"memory_stores": [{"key": "notes", "entities": {"u1": ["new seed"]}}]}'
    assert client.put("/_emulator/scenarios/seeds", content=second,
                      headers={"content-type": "application/json"}).status_code == 200  # fmt: skip
    texts = [d["text"] for d in client.get("/_emulator/memories/u1").json()["documents"]]
    assert texts == ["written", "new seed"]


def test_memory_entities_are_bounded() -> None:
    handle = InProcessEmulator(create_app(make_config(max_memories=2)))
    try:
        client = handle.httpx_client()
        for entity in ("a", "b", "c"):
            client.post(f"/_emulator/memories/{entity}", json={"text": entity})
        client.get("/_emulator/memories/b")  # used: c's arrival evicted a, and now b is the newest
        client.post("/_emulator/memories/d", json={"text": "d"})
        entities = [e["entity_id"] for e in client.get("/_emulator/memories").json()["entities"]]
        assert entities == ["b", "d"]
    finally:
        handle.close()


def test_an_entity_keeps_its_newest_documents() -> None:
    memory = MemoryStore()
    for n in range(DOCUMENTS_PER_ENTITY + 2):
        memory.write("e", f"doc {n}", "s", 0)
    texts = memory.texts("e")
    assert (
        len(texts) == DOCUMENTS_PER_ENTITY
        and texts[0] == "doc 2"
        and texts[-1] == f"doc {DOCUMENTS_PER_ENTITY + 1}"
    )
