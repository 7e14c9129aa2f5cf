"""JSON that satisfies a JSON Schema: structured output and function-call arguments.

Complete for the schemas OpenAI strict mode, pydantic v2 and zod emit: objects (required
properties always, optional ones about half the time, `minProperties`, `additionalProperties`),
arrays (`items`, `prefixItems`, `minItems`/`maxItems`, `uniqueItems`), strings (`enum`, `const`,
`pattern` through rstr with the same random source, `format`, lengths), numbers (inclusive and
exclusive bounds, `multipleOf`), `anyOf`/`oneOf`/`allOf`, type lists, `nullable`, and local
`$ref`s, recursive ones included.

Recursion ends without breaking the schema: past a depth, a value is the smallest one the schema
allows (required properties only, the fewest items, the `anyOf` branch that does not recurse, null
where null is allowed). Values are plausible (Faker, by what a property's name says it holds) and
a function of the random source only. Every value is checked against its schema before it is
returned; a schema nothing can satisfy raises `Unsatisfiable` naming the keyword.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import random
import threading
import uuid
from typing import Any

import jsonschema
import jsonschema_rs
import rstr
from faker import Faker

_WORDS = (
    "alpha", "amber", "cedar", "delta", "ember", "harbor", "juniper", "lumen", "maple", "nova",
    "orbit", "pine", "quartz", "river", "sierra", "tango", "umber", "violet", "willow", "zephyr",
)  # fmt: skip
_DEEP = 5  # past this many nested values, each value is the smallest its schema allows
_ATTEMPTS = 8  # draws of a value before its schema is called unsatisfiable


class Unsatisfiable(ValueError):
    """No value was found for a schema; `keyword` is the one that could not be met."""

    def __init__(self, keyword: str, message: str) -> None:
        super().__init__(message)
        self.keyword = keyword


def generate(schema: Any, rng: random.Random) -> Any:
    """A value valid against `schema` (its own `$defs`/`definitions` resolve `$ref`s)."""
    if not isinstance(schema, dict | bool):
        raise Unsatisfiable("type", "a JSON Schema is an object or a boolean")
    if schema is False:
        raise Unsatisfiable("false", "the schema `false` admits no value")
    fast, detailed = _validators(json.dumps(schema, sort_keys=True))
    failure: jsonschema.ValidationError | None = None
    for _ in range(_ATTEMPTS):
        value = _Generation(schema, rng).value(schema, 0, ())
        if fast.is_valid(value):
            return value
        failure = next(iter(detailed.iter_errors(value)), None)
        if failure is None:  # the two validators differ on a corner case: the detailed one decides
            return value
    assert failure is not None
    keyword = str(failure.validator)
    raise Unsatisfiable(keyword, f"no value satisfies the schema's `{keyword}` at {_where(failure)}")


def misfit(schema: Any, text: str) -> str | None:
    """Why `text` is not JSON that `schema` accepts (None when it is, or when the schema is not
    a JSON Schema, which is the request's own 400 elsewhere)."""
    try:
        value = json.loads(text)
    except ValueError:
        return "it is not JSON"
    try:
        fast, detailed = _validators(json.dumps(schema, sort_keys=True))
    except (jsonschema.SchemaError, TypeError, ValueError):
        return None
    if fast.is_valid(value):
        return None
    failure = next(iter(detailed.iter_errors(value)), None)
    return None if failure is None else f"{failure.message} (at /{'/'.join(map(str, failure.absolute_path))})"


def _where(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_schema_path)


@functools.lru_cache(maxsize=256)
def _validators(schema_json: str) -> tuple[Any, jsonschema.Draft202012Validator]:
    """A compiled (Rust) validator that says whether a value is valid, and the detailed one that
    says why not (only asked when it is not); built once per schema."""
    schema = json.loads(schema_json)
    jsonschema.Draft202012Validator.check_schema(schema)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    fast = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return fast, jsonschema.Draft202012Validator(schema, format_checker=checker)


_FAKER_LOCK = threading.Lock()


@functools.cache
def _faker() -> Faker:
    return Faker("en_US")


class _Generation:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.regex = rstr.Rstr(rng)

    def value(self, schema: Any, depth: int, refs: tuple[str, ...], name: str = "") -> Any:
        if schema is True or schema == {}:
            return self._word() if depth <= _DEEP else None
        if not isinstance(schema, dict):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = self._resolve(ref)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            merged = {**target, **rest} if rest else target
            return self.value(merged, depth + (ref in refs) * _DEEP, (*refs, ref), name)
        if "allOf" in schema:
            return self.value(_merged(schema, [self._deref(s) for s in schema["allOf"]]), depth, refs, name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"]) if schema["enum"] else None
        for union in ("anyOf", "oneOf"):
            if schema.get(union):
                base = {k: v for k, v in schema.items() if k != union}
                branch = self._branch(schema[union], depth, refs)
                return self.value({**base, **branch} if base else branch, depth + 1, refs, name)
        kind = self._kind(schema, depth)
        return self._of_type(kind, schema, depth, refs, name)

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}
        target: Any = self.root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target

    def _deref(self, schema: Any) -> Any:
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and len(schema) == 1:
            schema = self._resolve(schema["$ref"])
        return schema

    def _branch(self, branches: list[Any], depth: int, refs: tuple[str, ...]) -> Any:
        """A union's branch: any, or deep down the one that ends soonest (null, then no $ref)."""
        if depth <= _DEEP:
            return self.rng.choice(branches)
        return min(branches, key=lambda b: _cost(self._deref(b)))

    def _kind(self, schema: dict[str, Any], depth: int) -> str:
        kind = schema.get("type")
        nullable = schema.get("nullable") is True
        if isinstance(kind, list):
            kinds = [str(k) for k in kind] or ["null"]
            if depth > _DEEP and "null" in kinds:
                return "null"
            solid = [k for k in kinds if k != "null"]
            return self.rng.choice(solid) if solid and self.rng.random() < 0.85 else self.rng.choice(kinds)
        if kind is None:
            if "properties" in schema or "required" in schema or "additionalProperties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        if nullable and depth > _DEEP:
            return "null"
        return str(kind)

    def _of_type(
        self, kind: str, schema: dict[str, Any], depth: int, refs: tuple[str, ...], name: str
    ) -> Any:
        match kind:
            case "object":
                return self._object(schema, depth, refs)
            case "array":
                return self._array(schema, depth, refs, name)
            case "integer":
                return self._integer(schema)
            case "number":
                return self._number(schema)
            case "boolean":
                return self.rng.random() < 0.5
            case "null":
                return None
        return self._string(schema, name)

    def _object(self, schema: dict[str, Any], depth: int, refs: tuple[str, ...]) -> dict[str, Any]:
        properties = schema.get("properties", {})
        required = [str(r) for r in schema.get("required", [])]
        deep = depth > _DEEP
        chosen = [p for p in properties if p in required or (not deep and self.rng.random() < 0.5)]
        chosen += [r for r in required if r not in properties]
        extra = schema.get("additionalProperties", True)
        out: dict[str, Any] = {}
        for key in chosen:
            sub = properties.get(key, extra if isinstance(extra, dict) else {})
            out[key] = self.value(sub, depth + 1, refs, key)
        missing = schema.get("minProperties", 0) - len(out)
        for key in [p for p in properties if p not in out][: max(missing, 0)]:
            out[key] = self.value(properties[key], depth + 1, refs, key)
        n = 0
        while len(out) < schema.get("minProperties", 0) and extra is not False:
            key = f"{self._word()}_{n}"
            n += 1
            out[key] = self.value(extra if isinstance(extra, dict) else {}, depth + 1, refs, key)
        return out

    def _array(self, schema: dict[str, Any], depth: int, refs: tuple[str, ...], name: str) -> list[Any]:
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", {} if not prefix else False)
        low = max(schema.get("minItems", 0), 0)
        high = schema.get("maxItems", low + 3)
        if depth > _DEEP:
            count = low
        else:  # a tuple is given whole; a list gets a few items
            count = max(self.rng.randint(low, max(low, min(high, low + 3))), min(len(prefix), high))
        if items is False:
            count = min(count, len(prefix))
        out: list[Any] = []
        unique = schema.get("uniqueItems") is True
        choices = self._deref(items)
        if unique and isinstance(choices, dict) and isinstance(choices.get("enum"), list):
            count = max(low, min(count, len(prefix) + len(choices["enum"])))  # no more than there are
        for n in range(count):
            sub = self._deref(prefix[n] if n < len(prefix) else items)
            if unique and isinstance(sub, dict) and isinstance(sub.get("enum"), list):
                unused = [v for v in sub["enum"] if v not in out]  # draw without replacement
                sub = {**sub, "enum": unused or sub["enum"]}
            for _ in range(4 * _ATTEMPTS):
                value = self.value(sub, depth + 1, refs, name)
                if not unique or value not in out:
                    break
            out.append(value)
        return out

    def _integer(self, schema: dict[str, Any]) -> int:
        low, high = _range(schema, 1, 100)
        low, high = math.ceil(low), math.floor(high)
        if "exclusiveMinimum" in schema and low <= schema["exclusiveMinimum"]:
            low = math.floor(schema["exclusiveMinimum"]) + 1
        if "exclusiveMaximum" in schema and high >= schema["exclusiveMaximum"]:
            high = math.ceil(schema["exclusiveMaximum"]) - 1
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first, last = math.ceil(low / step), math.floor(high / step)
            return step * self.rng.randint(first, max(first, last))
        return self.rng.randint(low, max(low, high))

    def _number(self, schema: dict[str, Any]) -> float | int:
        low, high = _range(schema, 0, 100)
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and step > 0:
            first, last = math.ceil(low / step), math.floor(high / step)
            n = self.rng.randint(first, max(first, last))
            value = n * step
            return value if isinstance(step, int) else round(value, 10)
        exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        value = round(self.rng.uniform(low, high), 2)
        if (exclusive_low is not None and value <= exclusive_low) or value < low:
            value = (low + high) / 2
        if (exclusive_high is not None and value >= exclusive_high) or value > high:
            value = (low + high) / 2
        return value

    def _string(self, schema: dict[str, Any], name: str) -> str:
        if "pattern" in schema:
            text = self.regex.xeger(schema["pattern"])
        elif (formatted := self._formatted(schema.get("format"))) is not None:
            return formatted
        else:
            text = self._plausible(name)
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" not in schema:
            while len(text) < low:
                text += " " + self._word()
            if high is not None:
                text = text[:high]
        return text

    def _formatted(self, kind: Any) -> str | None:
        rng = self.rng
        moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            seconds=rng.randint(0, 365 * 86400 - 1)
        )
        match kind:
            case "date":
                return moment.date().isoformat()
            case "date-time":
                return moment.isoformat().replace("+00:00", "Z")
            case "time":
                return moment.time().isoformat() + "Z"
            case "email":
                return f"{self._word()}.{self._word()}@example.com"
            case "uuid":
                return str(uuid.UUID(int=rng.getrandbits(128), version=4))
            case "uri" | "url" | "iri":
                return f"https://example.com/{self._word()}"
            case "ipv4":
                return ".".join(str(rng.randint(1, 254)) for _ in range(4))
            case "ipv6":
                return ":".join(f"{rng.getrandbits(16):x}" for _ in range(8))
            case "hostname":
                return f"{self._word()}.example.com"
            case "duration":
                return f"PT{rng.randint(1, 59)}M"
        return None

    def _plausible(self, name: str) -> str:
        """A value a property of this name would hold, from Faker seeded by the random source."""
        key = name.lower()
        for words, make in _BY_NAME:
            if any(w in key for w in words):
                with _FAKER_LOCK:  # one Faker; a turn making a live call runs in a thread
                    fake = _faker()
                    fake.seed_instance(self.rng.getrandbits(32))
                    return str(make(fake))
        return self._word()

    def _word(self) -> str:
        return self.rng.choice(_WORDS)


_BY_NAME: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("email",), lambda f: f.email()),
    (("city", "town", "location", "place"), lambda f: f.city()),
    (("country",), lambda f: f.country()),
    (("first_name", "firstname", "given"), lambda f: f.first_name()),
    (("last_name", "lastname", "surname", "family"), lambda f: f.last_name()),
    (("name", "author", "user"), lambda f: f.name()),
    (("phone",), lambda f: f.phone_number()),
    (("address", "street"), lambda f: f.street_address()),
    (("company", "organization", "organisation"), lambda f: f.company()),
    (("url", "link", "website"), lambda f: f.url()),
    (("title", "summary", "headline"), lambda f: f.sentence(nb_words=5).rstrip(".")),
    (("description", "text", "content", "body", "reason", "answer"), lambda f: f.sentence()),
    (("color", "colour"), lambda f: f.color_name()),
    (("currency",), lambda f: f.currency_code()),
)


def _range(schema: dict[str, Any], low: float, high: float) -> tuple[float, float]:
    """The inclusive range to draw from (exclusive bounds are kept off by the callers)."""
    if "minimum" in schema:
        low = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"]
    if "maximum" in schema:
        high = schema["maximum"]
    elif "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"]
    else:
        high = max(high, low + high)
    if "exclusiveMinimum" in schema and "minimum" not in schema and high - low > 1e-9:
        low = low + min(1e-6, (high - low) / 4) if not isinstance(low, int) else low
    return low, max(low, high)


def _merged(schema: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    """`allOf` as one schema: properties and required joined, other keywords taken as given."""
    out = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties":
                out["properties"] = {**out.get("properties", {}), **value}
            elif key == "required":
                out["required"] = [*out.get("required", []), *value]
            else:
                out.setdefault(key, value)
    return out


def _cost(schema: Any) -> int:
    """How far a branch is from ending: null first, then plain values, then what may recurse."""
    if not isinstance(schema, dict):
        return 1
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return 0
    if "$ref" in schema or "anyOf" in schema or "oneOf" in schema or "allOf" in schema:
        return 3
    if kind in ("object", "array") or "properties" in schema or "items" in schema:
        return 2
    return 1
