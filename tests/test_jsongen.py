"""JSON generated from a schema validates against that schema (jsonschema is the oracle)."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.engine import jsongen

FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def valid(schema: dict[str, Any], value: Any) -> bool:
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS).is_valid(value)


bounds = st.integers(-50, 50)


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["integer", "number"]))
    low = draw(bounds)
    high = low + draw(st.integers(2, 40))
    schema: dict[str, Any] = {"type": kind}
    schema[draw(st.sampled_from(["minimum", "exclusiveMinimum"]))] = low
    if draw(st.booleans()):
        schema[draw(st.sampled_from(["maximum", "exclusiveMaximum"]))] = high
    return schema


@st.composite
def strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    choice = draw(st.sampled_from(["plain", "format", "enum", "const", "lengths"]))
    if choice == "format":
        schema["format"] = draw(st.sampled_from(["date", "date-time", "email", "uri"]))
    elif choice == "enum":
        schema["enum"] = draw(st.lists(st.text(max_size=5), min_size=1, max_size=4, unique=True))
    elif choice == "const":
        schema["const"] = draw(st.text(max_size=5))
    elif choice == "lengths":
        low = draw(st.integers(0, 30))
        schema["minLength"] = low
        schema["maxLength"] = low + draw(st.integers(0, 10))
    return schema


leaves = st.one_of(
    numbers(),
    strings(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.just({"type": ["string", "null"]}),
)


def compound(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    properties = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), children, min_size=1, max_size=4)

    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        props = draw(properties)
        required = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
        return {"type": "object", "properties": props, "required": required}

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        return {
            "type": "array",
            "items": draw(children),
            "minItems": low,
            "maxItems": low + draw(st.integers(0, 3)),
        }

    # anyOf only: a oneOf of overlapping branches can have no valid value at all
    unions = st.builds(lambda options: {"anyOf": options}, st.lists(children, min_size=1, max_size=3))
    return st.one_of(objects(), arrays(), unions)


schemas = st.recursive(leaves, compound, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(schemas, st.integers(0, 2**32))
def test_generated_json_validates_against_its_schema(schema: dict[str, Any], seed: int) -> None:
    value = jsongen.generate(schema, random.Random(seed))
    assert valid(schema, value), (schema, value)


@given(schemas, st.integers(0, 2**32))
def test_the_same_random_source_gives_the_same_json(schema: dict[str, Any], seed: int) -> None:
    assert jsongen.generate(schema, random.Random(seed)) == jsongen.generate(schema, random.Random(seed))


def test_local_refs_are_followed() -> None:
    schema = {
        "type": "object",
        "properties": {"home": {"$ref": "#/$defs/city"}},
        "required": ["home"],
        "$defs": {"city": {"type": "string", "enum": ["Paris", "Oslo"]}},
    }
    for seed in range(20):
        assert jsongen.generate(schema, random.Random(seed))["home"] in ("Paris", "Oslo")


def test_a_schema_nested_past_the_depth_limit_ends_in_null() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(10):
        schema = {"type": "object", "properties": {"x": schema}, "required": ["x"]}
    value = jsongen.generate(schema, random.Random(0))
    for _ in range(7):
        value = value["x"]
    assert value is None


def test_no_schema_and_no_type() -> None:
    assert jsongen.generate(True, random.Random(0)) in jsongen._WORDS  # a boolean schema: any value
    assert isinstance(jsongen.generate({}, random.Random(0)), str)
    assert isinstance(
        jsongen.generate({"properties": {"a": {"type": "integer"}}, "required": ["a"]}, random.Random(0))[
            "a"
        ],
        int,
    )


def test_one_of_takes_one_branch() -> None:
    schema = {"oneOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "string", "format": "email"}]}
    values = [jsongen.generate(schema, random.Random(seed)) for seed in range(30)]
    assert all(valid(schema, v) for v in values)
    assert {type(v) for v in values} == {int, bool, str}
