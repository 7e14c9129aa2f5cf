"""The admin API's scenarios: upload a document (YAML or JSON) under a name, replace it, delete it,
and reload the files from disk; a document or a file with problems is a 400 naming each by line,
and the set in use stays as it was."""

from __future__ import annotations

from pathlib import Path

import httpx

from emulator.app import create_app
from emulator.testing import InProcessEmulator
from tests.support import make_config

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"
YAML = {"content-type": "application/yaml"}
GREETING = """scenarios:
  - name: greeting
    match: {last_user_message: hello}
    reply:
      output:
        - text: {reply}
"""


def greeting(reply: str) -> str:
    return GREETING.replace("{reply}", reply)


def said(client: httpx.Client, text: str) -> str:
    return str(
        client.post(URL, json={"model": MODEL, "input": text}).json()["output"][0]["content"][0]["text"]
    )


def test_upload_replace_and_delete(client: httpx.Client) -> None:
    uploaded = client.put("/_emulator/scenarios/greet", content=greeting("Hi there"), headers=YAML)
    assert uploaded.status_code == 200
    listed = uploaded.json()["scenarios"]
    assert [(s["name"], s["where"]) for s in listed] == [("greeting", "upload:greet:2")]
    assert said(client, "hello") == "Hi there"
    client.put("/_emulator/scenarios/greet", content=greeting("Hello again"), headers=YAML)
    assert said(client, "hello") == "Hello again"  # replaced, not added: no duplicate name
    as_json = '{"scenarios": [{"name": "bye", "match": {"last_user_message": "bye"}, "reply": {"output": [{"text": "Ciao"}]}}]}'
    assert client.put("/_emulator/scenarios/bye", content=as_json,
                      headers={"content-type": "application/json"}).status_code == 200  # fmt: skip
    assert said(client, "bye") == "Ciao"
    gone = client.delete("/_emulator/scenarios/greet")
    assert gone.status_code == 200 and [s["name"] for s in gone.json()["scenarios"]] == ["bye"]
    assert said(client, "hello") != "Hello again"
    again = client.delete("/_emulator/scenarios/greet")
    assert (again.status_code, again.json()["error"]["param"]) == (404, "name")


def test_a_document_with_problems_is_refused_by_line(client: httpx.Client) -> None:
    client.put("/_emulator/scenarios/greet", content=greeting("Hi there"), headers=YAML)
    broken = greeting("Hi").replace("last_user_message", "last_user_mesage")
    refused = client.put("/_emulator/scenarios/greet", content=broken, headers=YAML)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "scenario_invalid"
    assert "upload:greet:3" in error["message"] and "last_user_mesage" in error["message"]
    assert "did you mean 'last_user_message'?" in error["message"]
    not_yaml = client.put("/_emulator/scenarios/other", content="scenarios: [\n  - {name: x", headers=YAML)
    assert not_yaml.status_code == 400 and "not valid YAML" in not_yaml.json()["error"]["message"]
    duplicate = client.put("/_emulator/scenarios/other", content=greeting("two"), headers=YAML)
    assert (
        duplicate.status_code == 400
        and "already defined at upload:greet:2" in duplicate.json()["error"]["message"]
    )
    assert said(client, "hello") == "Hi there"  # the set in use is as it was
    assert [s["name"] for s in client.get("/_emulator/scenarios").json()["scenarios"]] == ["greeting"]


def test_an_upload_is_bounded_by_the_body_limit() -> None:
    handle = InProcessEmulator(create_app(make_config(max_body_bytes=1000)))
    try:
        huge = "scenarios: []\n" + "#" * 2000
        answer = handle.httpx_client().put("/_emulator/scenarios/big", content=huge, headers=YAML)
        assert answer.status_code == 413
    finally:
        handle.close()


def test_reload_reads_the_files_again(tmp_path: Path) -> None:
    path = tmp_path / "greet.yaml"
    path.write_text(greeting("From disk"))
    handle = InProcessEmulator(create_app(make_config(scenarios=(str(path),), reload=False)))
    try:
        client = handle.httpx_client()
        assert said(client, "hello") == "From disk"
        path.write_text(greeting("Edited"))
        assert said(client, "hello") == "From disk"  # not watched
        reloaded = client.post("/_emulator/scenarios/reload")
        assert reloaded.status_code == 200 and reloaded.json()["loads"] == 2
        assert said(client, "hello") == "Edited"
        path.write_text(greeting("x").replace("reply:", "reply: [oops"))
        refused = client.post("/_emulator/scenarios/reload")
        assert refused.status_code == 400 and f"{path}:" in refused.json()["error"]["message"]
        assert said(client, "hello") == "Edited"  # the last good set goes on serving
    finally:
        handle.close()
