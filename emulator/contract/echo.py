"""What the response object says about the request that made it (contract section 3.1).

The response always carries the full superset object of decision 3: every key the pinned orq SDK
requires, with the documented defaults where the request was silent. `TEMPLATE` holds those
defaults in the order the keys are rendered; it is built once and copied per response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REDACTED = "[REDACTED]"

TEMPLATE: dict[str, Any] = {
    "id": None,
    "object": "response",
    "created_at": None,
    "completed_at": None,
    "status": "in_progress",
    "model": None,
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "previous_response_id": None,
    "input": [],
    "output": [],
    "tools": [],
    "tool_choice": "auto",
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "temperature": 1.0,
    "top_p": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "top_logprobs": 0,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "reasoning": None,
    "user": None,
    "usage": None,
    "truncation": "disabled",
    "parallel_tool_calls": True,
    "store": True,
    "background": False,
    "metadata": {},
    "service_tier": "auto",
    "safety_identifier": None,
    "prompt_cache_key": None,
    "prompt_cache_options": None,
    "prompt_cache_retention": None,
}

# How each echoed request field appears in the response (contract section 3.1); fields not
# listed here are not echoed. Driven by the request's keys, which are few.
_AS_SENT = frozenset((
    "model", "instructions", "previous_response_id", "tool_choice", "max_output_tokens",
    "max_tool_calls", "parallel_tool_calls", "store", "background", "metadata", "service_tier",
    "safety_identifier", "prompt_cache_key", "prompt_cache_options", "top_logprobs",
    # optional keys, present only when the request set them
    "conversation", "memory", "top_k",
))  # fmt: skip
_AS_FLOAT = frozenset(("temperature", "top_p", "presence_penalty", "frequency_penalty"))


def redact_variables(variables: dict[str, Any]) -> dict[str, Any]:
    """Secret values (`{"secret": true, "value": ...}`) replaced by a marker; others kept."""
    return {name: redacted(value) for name, value in variables.items()}


def redacted(value: Any) -> Any:
    """One variable, its value replaced by the marker if it is a secret."""
    return {"secret": True, "value": REDACTED} if is_secret(value) else value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get("secret") is True


def echo(request: dict[str, Any]) -> dict[str, Any]:
    """The response fields that echo the request (everything but ids, times, status, output)."""
    fields = {}
    for key, value in request.items():
        if key in _AS_SENT:
            fields[key] = value
        elif key in _AS_FLOAT:
            fields[key] = float(value)
        elif key in _TRANSFORMED:
            fields[key] = _TRANSFORMED[key](value)
    return fields


def _echo_text(text: dict[str, Any]) -> dict[str, Any]:
    echoed = {**TEMPLATE["text"], **text}
    if echoed["format"]["type"] == "json_schema":  # keys OpenResponses requires
        echoed["format"] = {"description": None, "strict": False, **echoed["format"]}
    return echoed


def _echo_truncation(value: Any) -> str:
    # An OpenAI-client field, not orq's (so unvalidated): echoed only when it is a known value.
    return str(value) if value in ("auto", "disabled") else str(TEMPLATE["truncation"])


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool["type"] == "function":  # OpenResponses requires these keys, null when unset
        return {"description": None, "parameters": None, "strict": None, **tool}
    return tool


_TRANSFORMED: dict[str, Callable[[Any], Any]] = {
    "tools": lambda tools: [_echo_tool(t) for t in tools],
    "text": _echo_text,
    "reasoning": lambda reasoning: {"effort": None, "summary": None, **reasoning},
    "truncation": _echo_truncation,
    "variables": redact_variables,
}
