"""JSON generated from a schema validates against that schema (jsonschema is the oracle)."""

from __future__ import annotations

import random
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib._pydantic import to_strict_json_schema

from emulator.engine import jsongen
from tests.structured_models import Report

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


def test_a_schema_nested_deeply_is_still_satisfied_at_the_bottom() -> None:
    schema: dict[str, Any] = {"type": "string", "pattern": "^[a-z]{3}$"}
    for _ in range(12):
        schema = {"type": "object", "properties": {"x": schema}, "required": ["x"]}
    value = jsongen.generate(schema, random.Random(0))
    for _ in range(12):
        value = value["x"]
    assert isinstance(value, str) and len(value) == 3 and value.isalpha()


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


# --- the keywords the issue lists, each checked by hand -------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_keywords_are_met(seed: int) -> None:
    rng = random.Random(seed)
    assert re.fullmatch(r"\d{5}", jsongen.generate({"type": "string", "pattern": r"^\d{5}$"}, rng))
    assert jsongen.generate({"type": "integer", "multipleOf": 7, "minimum": 10, "maximum": 60}, rng) % 7 == 0
    low_high = jsongen.generate({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, rng)
    assert 0 < low_high < 1
    assert jsongen.generate({"type": "integer", "exclusiveMinimum": 4, "exclusiveMaximum": 6}, rng) == 5
    pair = jsongen.generate(
        {"type": "array", "prefixItems": [{"type": "integer"}, {"const": "x"}], "items": False}, rng
    )
    assert isinstance(pair[0], int) and pair[1:] == ["x"]
    unique = jsongen.generate(
        {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True}, rng
    )
    assert sorted(unique) == [1, 2, 3]
    assert (
        len(
            jsongen.generate(
                {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}}, rng
            )
        )
        >= 2
    )
    assert jsongen.generate({"type": "string", "format": "uuid"}, rng).count("-") == 4
    assert jsongen.generate(
        {
            "allOf": [
                {"properties": {"a": {"const": 1}}, "required": ["a"]},
                {"properties": {"b": {"const": 2}}, "required": ["b"]},
            ]
        },
        rng,
    ) == {"a": 1, "b": 2}


@pytest.mark.parametrize("seed", range(25))
def test_pydantic_models_in_openai_strict_form_always_validate(seed: int) -> None:
    # Lists of models in lists, Optional, Literal, enums, dates, patterns, recursion: the schema
    # as the OpenAI SDK sends it for responses.parse(text_format=...), and pydantic as the judge.
    schema = to_strict_json_schema(Report)
    Report.model_validate(jsongen.generate(schema, random.Random(seed)))


def test_a_schema_nothing_satisfies_names_the_keyword() -> None:
    with pytest.raises(jsongen.Unsatisfiable) as refused:
        jsongen.generate({"type": "integer", "minimum": 5, "maximum": 4}, random.Random(0))
    assert refused.value.keyword in ("minimum", "maximum")


SCHEMAS = st.recursive(
    st.one_of(
        st.just({"type": "string"}),
        st.builds(lambda n: {"type": "string", "minLength": n, "maxLength": n + 4}, st.integers(0, 6)),
        st.sampled_from([{"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"}, {"type": "string", "format": "email"},
                         {"type": "string", "format": "date-time"}, {"type": "boolean"}, {"type": "null"},
                         {"enum": ["x", 1, None]}, {"const": {"k": [1]}}]),
        st.builds(lambda lo, span, m: {"type": "integer", "minimum": lo, "maximum": lo + span * m, "multipleOf": m},
                  st.integers(-50, 50), st.integers(1, 20), st.integers(1, 5)),
        st.builds(lambda lo, span: {"type": "number", "exclusiveMinimum": lo, "exclusiveMaximum": lo + span},
                  st.integers(-10, 10), st.integers(1, 10)),
    ),
    lambda inner: st.one_of(
        st.builds(lambda props, n: {"type": "object", "properties": props, "required": sorted(props)[:n],
                                    "additionalProperties": False},
                  st.dictionaries(st.sampled_from(["a", "b", "city", "email", "name"]), inner, max_size=4), st.integers(0, 4)),
        st.builds(lambda item, low: {"type": "array", "items": item, "minItems": low, "maxItems": low + 3},
                  inner, st.integers(0, 2)),
        st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner),
        st.builds(lambda a: {"type": ["object", "null"], "properties": {"v": a}, "required": ["v"]}, inner),
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(schema=SCHEMAS, seed=st.integers(0, 2**32))
def test_random_schemas_always_give_valid_and_repeatable_values(schema: dict[str, Any], seed: int) -> None:
    value = jsongen.generate(schema, random.Random(seed))
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(value)
    assert jsongen.generate(schema, random.Random(seed)) == value
