"""Request validation against `schemas/create-response-request.schema.json` (contract decision 7).

The hot path asks a compiled Rust validator (jsonschema-rs) one question, "valid?". Only when the
answer is no does the pure-Python `jsonschema` walk the body for precise, human failures. Both read
the same schema file.

Unknown keys are contract warnings by default (real OpenAI clients send `include`, `user`,
`truncation`...) and 400s in strict mode. Unknown top-level keys are split off before the fast
check, since they are common and would otherwise push every such request onto the slow path.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs

from emulator.contract import schemas
from emulator.contract.errors import ApiError, Failure, bad_field, invalid_request
from emulator.contract.integers import integer_places, whole_numbers
from emulator.contract.messages import describe, failures, pointer


def unknown_field(param: str) -> Failure:
    return Failure(param, f"{param} is not a field of the orq Responses API")


@functools.cache
def _compiled() -> tuple[frozenset[str], Any, Any, dict[str, Any]]:
    """The request schema's top-level fields, its two validators and where it wants integers,
    compiled once per process (they hold no state, so every app shares them)."""
    schema = schemas.load(schemas.REQUEST)
    # The fast check leaves out the rules across fields (the top-level allOf): check_rules applies
    # them to every body, with its own wording.
    per_field = {k: v for k, v in schema.items() if k != "allOf"}
    return (
        frozenset(schema["properties"]),
        jsonschema_rs.validator_for(per_field),
        schemas.validator(schemas.REQUEST),
        integer_places(schema),
    )


class RequestValidator:
    def __init__(self, *, strict: bool = False, default_provider: str | None = None) -> None:
        self.strict = strict
        self.default_provider = default_provider  # bare model names become "<it>/<name>" (decision 16)
        self._known, self._fast, self._detailed, self._integers = _compiled()
        self._integer_fields = frozenset(self._integers)  # top-level fields with integers in them

    def check(self, body: Any) -> tuple[dict[str, Any], list[Failure]]:
        """Raise `ApiError` (400) for a body that breaks the contract; else return the body the
        engine may use (unknown nested keys pruned, so nothing unknown is echoed back) and the
        contract warnings."""
        if not isinstance(body, dict):
            raise ApiError(
                400,
                "invalid_request_body",
                f"The request body must be a JSON object, got {describe(body)}",
            )
        if self.default_provider is not None:
            body, named = _with_provider(body, self.default_provider)
        else:
            named = []
        if self._known.issuperset(body):  # the usual case: every top-level key is known
            subject, warnings = body, named
        else:
            subject = {k: v for k, v in body.items() if k in self._known}
            warnings = [*named, *(unknown_field(pointer([k])) for k in body if k not in self._known)]
        if not self._fast.is_valid(subject):
            # The rules across fields (the schema's top-level allOf) are worded by check_rules.
            errors = [e for e in self._detailed.iter_errors(subject) if not _across_fields(e)]
            extra = [e for e in errors if e.validator == "additionalProperties"]
            problems = [e for e in errors if e.validator != "additionalProperties"]
            if problems:
                nulls = [] if self.strict else _null_places(problems)
                if not nulls:
                    raise invalid_request(failures(problems))
                return self._without_nulls(body, nulls, problems)
            warnings += [unknown_field(f.param or "") for f in failures(extra)]
            for error in extra:
                body = _pruned(
                    body,
                    list(error.absolute_path),
                    set(error.instance) - set(error.schema.get("properties", {})),
                )
        if not self._integer_fields.isdisjoint(body):
            body = whole_numbers(body, self._integers)
        if warnings and self.strict:
            raise invalid_request(warnings)
        check_rules(body)
        return body, warnings

    def _without_nulls(
        self, body: dict[str, Any], nulls: list[list[str | int]], problems: list[Any]
    ) -> tuple[dict[str, Any], list[Failure]]:
        """Decision 15: a null where the schema has none means "not given", with a warning; but a
        required field is never null (its own error then stands)."""
        for path in nulls:
            body = _pruned(body, path[:-1], {str(path[-1])})
        try:
            checked, warnings = self.check(body)
        except ApiError as refused:
            if refused.param in {pointer(path) for path in nulls}:  # a required field was null
                raise invalid_request(failures(problems)) from None
            raise
        given_as_null = [
            Failure(
                pointer(path), f"{pointer(path)} is null, taken as not given (orq's schema has no null there)"
            )
            for path in nulls
        ]
        return checked, [*given_as_null, *warnings]


def _null_warning(path: list[str | int]) -> Failure:
    where = pointer(path)
    return Failure(where, f"{where} is null, taken as not given (orq's schema has no null there)")


def _null_places(errors: list[Any]) -> list[list[str | int]]:
    """Where a field of an object is null and the schema does not allow it."""
    places = {
        tuple(e.absolute_path)
        for e in errors
        if e.instance is None and e.absolute_path and isinstance(e.absolute_path[-1], str)
    }
    return [list(place) for place in sorted(places, key=lambda p: (len(p), str(p)))]


def _with_provider(body: dict[str, Any], provider: str) -> tuple[dict[str, Any], list[Failure]]:
    """Decision 16's --default-provider: a bare model name taken as `<provider>/<name>`, with a
    warning (top level and fallbacks)."""
    model = body.get("model")
    if not (isinstance(model, str) and model and "/" not in model):
        return body, []
    named = f"{provider}/{model}"
    warning = Failure("/model", f"/model '{model}' has no provider; taken as '{named}' (--default-provider)")
    return {**body, "model": named}, [warning]


def _across_fields(error: Any) -> bool:
    path = error.absolute_schema_path
    return bool(path) and path[0] == "allOf"


def _pruned(node: Any, path: list[str | int], keys: set[str]) -> Any:
    """`node` without `keys` in the object at `path`; copies only along the path."""
    if not path:
        return {k: v for k, v in node.items() if k not in keys}
    head, *rest = path
    if isinstance(node, list):
        items = list(node)
        items[int(head)] = _pruned(node[int(head)], rest, keys)
        return items
    return {**node, head: _pruned(node[head], rest, keys)}


def check_rules(body: dict[str, Any]) -> None:
    """Rules of decision 7 that span several fields, so no single schema keyword states them."""
    if body.get("background") is True and body.get("store") is False:
        raise bad_field(
            "/background",
            "/background: a background response must be stored so it can be fetched; "
            "drop store:false or background:true",
        )
    if body.get("conversation") is not None and body.get("previous_response_id") is not None:
        raise bad_field(
            "/conversation",
            "/conversation: a response continues either a conversation or a previous response; "
            "send conversation or previous_response_id, not both",
        )
    if "input" not in body and "previous_response_id" not in body and "conversation" not in body:
        raise bad_field(
            "/input", "/input is required (or continue a stored response with previous_response_id)"
        )
