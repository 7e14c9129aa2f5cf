"""Whole numbers written with a fraction or an exponent (`5.0`, `1e3`) where the contract wants an
integer.

JSON Schema's `integer` accepts them (draft 2020-12: any number with a zero fractional part), and
so does the emulator, in every mode, as the integer they are: a `max_output_tokens` of `5.0` is 5,
sliced with and echoed as 5. (Refusing them in strict mode would make the server stricter than the
document it serves.)

Where the schema wants integers is found once, from the schema itself, as a tree of places
(`IntegerPlaces`); a body is then visited only along the places it has.
"""

from __future__ import annotations

from typing import Any

ANY = "*"  # a tree key: every item of an array, every value of a map

# A node: `True` under the key "" when the value there is an integer, and a subtree per key.
Tree = dict[str, Any]


def integer_places(schema: dict[str, Any]) -> Tree:
    """The places in an instance of `schema` (with its `$defs`) where integers are expected."""
    defs = schema.get("$defs", {})
    tree: Tree = {}
    _collect(schema, defs, tree, frozenset())
    return _pruned(tree) or {}


def _collect(node: Any, defs: dict[str, Any], tree: Tree, seen: frozenset[str]) -> None:
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref not in seen:
        _collect(defs.get(ref.removeprefix("#/$defs/")), defs, tree, seen | {ref})
    types = node.get("type")
    if types == "integer" or (isinstance(types, list) and "integer" in types):
        tree[""] = True
    for keyword in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(keyword, ()):
            _collect(branch, defs, tree, seen)
    for keyword in ("then", "else"):
        _collect(node.get(keyword), defs, tree, seen)
    for key, sub in node.get("properties", {}).items():
        _collect(sub, defs, tree.setdefault(key, {}), seen)
    for keyword in ("items", "additionalProperties"):
        if isinstance(node.get(keyword), dict):
            _collect(node[keyword], defs, tree.setdefault(ANY, {}), seen)


def _pruned(tree: Tree) -> Tree | None:
    """The tree without branches that hold no integer place."""
    kept: Tree = {k: p for k, v in tree.items() if k and (p := _pruned(v)) is not None}
    if tree.get(""):
        kept[""] = True
    return kept or None


def whole_numbers(body: Any, places: Tree) -> Any:
    """`body` with each integral float at an integer place made an int (copying only along the way)."""
    return _visit(body, places)


def _visit(value: Any, places: Tree) -> Any:
    if isinstance(value, float) and places.get("") and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if ANY not in places and places.keys().isdisjoint(value):  # most bodies: nothing to visit
            return value
        changed = None
        for key, sub in value.items():
            below = places.get(key) or places.get(ANY)
            if below is None:
                continue
            new = _visit(sub, below)
            if new is not sub:
                changed = changed or dict(value)
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, list) and ANY in places:
        items = [_visit(item, places[ANY]) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value
