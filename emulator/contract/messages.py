"""Turns jsonschema's validation errors into failures a person understands.

Each failure names the offending field as a JSON pointer (RFC 6901) into the request body, and
says what was expected and what was sent. A schema can set its own wording with the
`errorMessage` annotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from jsonschema import ValidationError

from emulator.contract.errors import Failure

_JSON_TYPES = {
    dict: "an object", list: "an array", str: "a string", bool: "a boolean",
    int: "an integer", float: "a number", type(None): "null",
}  # fmt: skip
_TYPE_NAMES = {
    "object": "an object", "array": "an array", "string": "a string", "boolean": "a boolean",
    "integer": "an integer", "number": "a number", "null": "null",
}  # fmt: skip


def pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# Values under these top-level fields may be secrets: failures name their type, never their value.
_NEVER_ECHO = frozenset({"variables"})


def describe(value: Any, *, reveal: bool = True) -> str:
    """A short rendering of a sent value, with its JSON type."""
    kind = _JSON_TYPES.get(type(value), "a value")
    if isinstance(value, dict | list) or not reveal:
        return kind
    text = orjson.dumps(value).decode()
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} ({text})"


def _choices(values: Iterable[Any]) -> str:
    rendered = [orjson.dumps(v).decode().replace('"', "'") for v in values]
    return rendered[0] if len(rendered) == 1 else ", ".join(rendered[:-1]) + " or " + rendered[-1]


def _expected_types(expected: str | list[str]) -> str:
    names = [_TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def failure(error: ValidationError) -> Failure:
    """One failure for one jsonschema error, at the most precise pointer available."""
    path = list(error.absolute_path)
    value: Any = error.instance
    schema = _schema_of(error)
    expected: Any = error.validator_value  # the keyword's value in the schema, whatever its type
    custom = schema.get("errorMessage")
    keyword = str(error.validator)
    where = pointer(path)
    reveal = not (path and path[0] in _NEVER_ECHO)
    shown = describe(value, reveal=reveal)

    if keyword == "required":
        missing = next((k for k in expected if k not in value), expected[0])
        where = pointer([*path, missing])
        return Failure(where, f"{where} is required")
    if keyword == "additionalProperties":
        extras = [k for k in value if k not in schema.get("properties", {})]
        where = pointer([*path, extras[0]]) if extras else where
        return Failure(where, f"{where} is not a known field here")
    if "propertyNames" in error.absolute_schema_path:
        # jsonschema reports a bad key with the key itself as the instance, at the map's path.
        key_at = pointer([*path, value])
        if keyword == "maxLength":
            limit = f"at most {expected} characters; this one has {len(value)}"
            return Failure(key_at, f"{key_at}: keys here must be {limit}")
        return Failure(key_at, f"{key_at}: invalid key ({error.message})")
    if custom:
        got = "" if isinstance(value, dict | list) else f"; got {shown}"
        return Failure(where, f"{where or 'the request body'} {custom}{got}")
    label = where or "the request body"
    message = _keyword_message(keyword, label, expected, value, shown)
    if message is None:
        message = f"{label} is invalid ({keyword})" if not reveal else f"{label}: {error.message}"
    return Failure(where, message)


def _keyword_message(keyword: str, label: str, expected: Any, value: Any, shown: str) -> str | None:
    """The message for a failed schema keyword; None for a keyword without one of its own."""
    match keyword:
        case "type":
            return f"{label} must be {_expected_types(expected)}, got {shown}"
        case "enum":
            return f"{label} must be one of {_choices(expected)}; got {shown}"
        case "const":
            return f"{label} must be {_choices([expected])}; got {shown}"
        case "minimum" | "exclusiveMinimum":
            return f"{label} must be at least {expected}; got {shown}"
        case "maximum" | "exclusiveMaximum":
            return f"{label} must be at most {expected}; got {shown}"
        case "pattern":
            return f"{label} must match {expected!r}; got {shown}"
    return _size_message(keyword, label, expected, value)


def _size_message(keyword: str, label: str, expected: Any, value: Any) -> str | None:
    """The message for a failed length or size keyword; None for any other keyword."""
    match keyword:
        case "minLength":
            if expected == 1:
                return f"{label} must not be empty"
            return f"{label} must be at least {expected} characters"
        case "maxLength":
            return f"{label} must be at most {expected} characters; got {len(value)}"
        case "maxProperties":
            return f"{label} may hold at most {expected} entries; got {len(value)}"
        case "minItems":
            return f"{label} must hold at least {expected} item(s)"
        case "maxItems":
            return f"{label} may hold at most {expected} items; got {len(value)}"
    return None


def _schema_of(error: ValidationError) -> dict[str, Any]:
    """The (sub)schema that failed, or {} for a boolean schema."""
    return error.schema if isinstance(error.schema, dict) else {}


def _leaves(error: ValidationError) -> Iterable[ValidationError]:
    """Errors from anyOf/oneOf carry their causes in `context`; report the deepest ones."""
    if error.validator in ("anyOf", "oneOf") and error.context and "errorMessage" not in _schema_of(error):
        deepest = max(len(e.absolute_path) for e in error.context)
        for sub in error.context:
            if len(sub.absolute_path) == deepest:
                yield from _leaves(sub)
    else:
        yield error


def failures(errors: Iterable[ValidationError]) -> list[Failure]:
    """Deduplicated failures, in body order (shallow first, then by pointer)."""
    found: dict[tuple[str | None, str], Failure] = {}
    for error in errors:
        for leaf in _leaves(error):
            f = failure(leaf)
            found.setdefault((f.param, f.message), f)
    return sorted(found.values(), key=lambda f: (f.param or "").count("/"))
