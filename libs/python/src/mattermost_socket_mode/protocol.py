"""The plugin's websocket protocol: names, and the messages a bot sends. No I/O here.

A bot speaks to the plugin on its ordinary Mattermost websocket: Mattermost hands every
``custom_<plugin id>_*`` action a connection sends to the plugin, and the plugin's events come
back as ``custom_<plugin id>_*`` events (README "Delivery guarantees").
"""

from __future__ import annotations

import json
from typing import Any, Optional

PLUGIN_ID = "mattermost-plugin-interactive-message-actions-to-websocket-proxy"

#: The plugin's events a bot answers, by their name without the ``custom_<id>_`` prefix.
DELIVERED = ("action", "command", "dialog_submission", "dialog_refresh", "dialog_lookup")

#: The only protocol version the plugin speaks.
PROTOCOL = 1


def prefix(plugin_id: str) -> str:
    """The prefix of the plugin's event and action names."""
    return f"custom_{plugin_id}_"


def handler_path(plugin_id: str) -> str:
    """The path every action's ``integration.url`` points at."""
    return f"/plugins/{plugin_id}/api/v1/handler"


def api_path(plugin_id: str, endpoint: str) -> str:
    """The path of one of the plugin's REST endpoints (``ack``, ``dialogs/open``, ...)."""
    return f"/plugins/{plugin_id}/api/v1/{endpoint}"


def message(plugin_id: str, seq: int, action: str, data: dict) -> str:
    """A websocket message to the plugin (``action`` without its prefix)."""
    return json.dumps({"seq": seq, "action": prefix(plugin_id) + action, "data": data})


def subscribe_data(expand: Optional[dict]) -> dict:
    """What ``subscribe`` carries: the protocol, and the expansions when the bot asks for any."""
    data: dict[str, Any] = {"protocol": PROTOCOL}
    if expand:
        data["expand"] = expand
    return data


def ack_data(event_id: str, answer: Any) -> dict:
    """What ``ack`` (on the websocket, or ``POST /api/v1/ack``) carries; no answer, no key."""
    data: dict[str, Any] = {"event_id": event_id}
    if answer is not None:
        data["answer"] = answer
    return data


def parse(raw: str) -> tuple[str, Any]:
    """A websocket frame as (event name, data); ("", {}) for replies and anything unreadable.

    Mattermost's replies to a bot's own messages (``{"status": "OK", "seq_reply": n}``) carry no
    event: nothing to do with them.
    """
    try:
        frame = json.loads(raw)
    except ValueError:
        return "", {}
    if not isinstance(frame, dict):
        return "", {}
    name = frame.get("event")
    if not isinstance(name, str):
        return "", {}
    data = frame.get("data")
    return name, data if data is not None else {}
