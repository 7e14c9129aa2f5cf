from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from emulator.engine import tokens
from emulator.engine.items import input_tokens


@given(st.text())
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokens.tokenize(text)) == text
    assert tokens.count(text) == len(tokens.tokenize(text))


@given(st.text(), st.text())
def test_counts_add_up_roughly(a: str, b: str) -> None:
    # joining can merge a trailing word piece with a leading one, never lose more than that
    assert tokens.count(a + b) >= tokens.count(a) + tokens.count(b) - 2


def test_documented_examples() -> None:
    assert tokens.tokenize("Hello, world!") == ["Hello", ",", " world", "!"]
    assert tokens.count("internationalisation") == 4
    assert tokens.count("") == 0


def test_items_count_text_and_overhead() -> None:
    message = {"type": "message", "content": [{"type": "input_text", "text": "Hello, world!"}]}
    assert input_tokens([message]) == tokens.ITEM_OVERHEAD + 4
    call = {"type": "function_call", "name": "f", "arguments": "{}"}
    assert input_tokens([call]) == tokens.ITEM_OVERHEAD + 1 + 2


def test_input_tokens_count_the_instructions_and_the_tools(client: httpx.Client) -> None:
    """The README promises both; the expected counts are worked out by hand from its token rule."""

    def input_tokens(**extra: Any) -> int:
        reply = client.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "Hi.", **extra})
        assert reply.status_code == 200, reply.text
        return reply.json()["usage"]["input_tokens"]

    assert input_tokens() == 3 + 2  # one item's overhead, then "Hi" "."
    assert input_tokens(instructions="Be brief.") == 5 + 3  # "Be" " brief" "."
    # The tools as compact JSON: [ { " type " : " functi on " , " name " : " f " , " parame ters " : { } } ]
    tool = {"type": "function", "name": "f", "parameters": {}}
    assert input_tokens(tools=[tool]) == 5 + 28
    assert input_tokens(instructions="Be brief.", tools=[tool]) == 5 + 3 + 28
