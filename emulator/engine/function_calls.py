"""How a turn that ends by calling a user's function reports itself (contract decision 4).

orq documents `status: "requires_action"`; orq's own SDKs from 4.13.1 on validate `status` as a
closed list without it and reject it. So `function_call_status` is `requires_action`,
`completed`, or `auto` (the default): `completed` for an orq SDK >= 4.13.1 (known by its
User-Agent, the only header that carries its version), `requires_action` for every other client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CHOICES = ("auto", "requires_action", "completed")

# speakeasy-sdk/python 4.17.13 2.950.13 2.0 orq-ai-sdk | speakeasy-sdk/typescript <ver> ... @orq-ai/node
_ORQ_SDK = re.compile(
    r"speakeasy-sdk/(?:python|typescript) (\d+)\.(\d+)\.(\d+)\S* .*(?:orq-ai-sdk|@orq-ai/node)"
)
_STRICT_SINCE = (4, 13, 1)


def status_for(setting: str, headers: Mapping[str, str]) -> str:
    """The status of a turn that ends with a function call, for this client."""
    if setting != "auto":
        return setting
    found = _ORQ_SDK.search(headers.get("user-agent", ""))
    if found and tuple(map(int, found.groups())) >= _STRICT_SINCE:
        return "completed"
    return "requires_action"
