"""Variables in `instructions` and in message text (contract decision 12).

A request that sends `variables` (or names a `template_engine`) has `{{name}}` filled in its
`instructions` and in the text of its input messages, before anything else reads them: the
backend, scenario matching, token counts and the echo all see the filled text. Engines:

- `text` (the default): `{{name}}` (spaces inside the braces allowed), nothing else;
- `mustache`: chevron, with sections and `{{{raw}}}`;
- `jinja`: Jinja2's sandbox, which refuses access to Python's internals (a 400).

A variable the text uses but the request does not give is a 400 naming it. A secret variable's
value is for platform tools only: text gets the marker `[REDACTED]` in its place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import chevron
import jinja2
from jinja2.sandbox import SandboxedEnvironment

from emulator.contract.echo import REDACTED, is_secret
from emulator.contract.errors import ApiError, bad_field

_TEXT_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
_JINJA = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def applies(request: dict[str, Any]) -> bool:
    return "variables" in request or "template_engine" in request


def filled(request: dict[str, Any]) -> dict[str, Any]:
    """The request with its instructions and input message texts filled in."""
    values = {
        name: REDACTED if is_secret(value) else (value.get("value") if isinstance(value, dict) else value)
        for name, value in (request.get("variables") or {}).items()
    }
    render = _ENGINES[request.get("template_engine") or "text"]
    out = dict(request)
    if isinstance(request.get("instructions"), str):
        out["instructions"] = render(request["instructions"], values, "/instructions")
    raw = request.get("input")
    if isinstance(raw, str):
        out["input"] = render(raw, values, "/input")
    elif isinstance(raw, list):
        out["input"] = [_filled_item(item, values, render, f"/input/{n}") for n, item in enumerate(raw)]
    return out


Render = Callable[[str, dict[str, Any], str], str]


def _filled_item(item: Any, values: dict[str, Any], render: Render, where: str) -> Any:
    if not isinstance(item, dict) or item.get("type", "message") != "message" or "role" not in item:
        return item
    content = item.get("content")
    if isinstance(content, str):
        return {**item, "content": render(content, values, f"{where}/content")}
    if isinstance(content, list):
        parts = [
            {**part, "text": render(part["text"], values, f"{where}/content/{n}/text")}
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            else part
            for n, part in enumerate(content)
        ]
        return {**item, "content": parts}
    return item


def _missing(name: str, where: str) -> ApiError:
    return bad_field(where, f"{where} uses the variable '{name}', which `variables` does not give")


def _text(template: str, values: dict[str, Any], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise _missing(name, where)
        return str(values[name])

    return _TEXT_VARIABLE.sub(value, template)


def _mustache(template: str, values: dict[str, Any], where: str) -> str:
    try:
        tokens = list(chevron.tokenizer.tokenize(template))
    except chevron.ChevronError as exc:
        raise bad_field(where, f"{where} is not a valid mustache template: {exc}") from None
    depth = 0
    for kind, key in tokens:
        if kind in ("section", "inverted section"):
            depth += 1
        elif kind == "end":
            depth -= 1
        elif (
            kind in ("variable", "no escape")
            and depth == 0
            and key != "."
            and key.split(".")[0] not in values
        ):
            raise _missing(key, where)
    rendered: str = chevron.render(template, values)
    return rendered


def _jinja(template: str, values: dict[str, Any], where: str) -> str:
    try:
        return _JINJA.from_string(template).render(values)
    except jinja2.exceptions.SecurityError:
        raise bad_field(where, f"{where}: the template reaches outside the sandbox") from None
    except jinja2.UndefinedError as exc:
        name = re.search(r"'([^']+)' is undefined", str(exc))
        raise _missing(name.group(1) if name else str(exc), where) from None
    except jinja2.TemplateError as exc:
        raise bad_field(where, f"{where} is not a valid Jinja template: {exc}") from None


_ENGINES: dict[str, Render] = {"text": _text, "mustache": _mustache, "jinja": _jinja}
