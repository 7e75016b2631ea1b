"""Buttons and menus that deliver their clicks to the bot through the plugin. No I/O here.

:func:`button` and :func:`menu` build actions; :func:`fill` points every action of a message
at the plugin before it is posted: ``integration.url`` is the plugin's handler,
``integration.context.user_id`` the posting bot (the plugin delivers a click only to the bot
that posted the message), ``integration.context.action_id`` the action's id (what
``App.action("id")`` matches).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Optional, Union

from .protocol import handler_path

_ACTION_ID = re.compile(r"^[A-Za-z0-9]+$")

Option = Union[str, tuple, dict]


def _check_id(action_id: str) -> None:
    # Mattermost's click route takes letters and digits only: "approve_1" would never arrive.
    if not isinstance(action_id, str) or not _ACTION_ID.match(action_id):
        raise ValueError(f"action id {action_id!r}: letters and digits only (Mattermost refuses others)")


def button(action_id: str, name: str, *, style: Optional[str] = None, context: Optional[dict] = None) -> dict:
    """A button. ``style``: ``default``, ``primary``, ``success``, ``good``, ``warning``,
    ``danger`` or a colour. ``context`` comes back in the click's ``event.context``."""
    _check_id(action_id)
    action: dict[str, Any] = {
        "id": action_id,
        "name": name,
        "type": "button",
        "integration": {"context": {**(context or {}), "action_id": action_id}},
    }
    if style:
        action["style"] = style
    return action


def menu(
    action_id: str,
    name: str,
    options: Optional[Iterable[Option]] = None,
    *,
    data_source: Optional[str] = None,
    context: Optional[dict] = None,
) -> dict:
    """A menu. ``options``: ``(text, value)`` pairs, ``{"text", "value"}`` dicts or strings; or
    ``data_source="users"`` / ``"channels"`` for Mattermost's own lists."""
    _check_id(action_id)
    action: dict[str, Any] = {
        "id": action_id,
        "name": name,
        "type": "select",
        "integration": {"context": {**(context or {}), "action_id": action_id}},
    }
    if options is not None:
        action["options"] = [_option(o) for o in options]
    if data_source:
        action["data_source"] = data_source
    return action


def _option(o: Option) -> dict:
    if isinstance(o, str):
        return {"text": o, "value": o}
    if isinstance(o, tuple) and len(o) == 2:
        return {"text": o[0], "value": o[1]}
    if isinstance(o, dict):
        return o
    raise ValueError(f"menu option {o!r}: give (text, value), a dict or a string")


def props_of(actions: Optional[list] = None, attachments: Optional[list] = None, props: Optional[dict] = None) -> dict:
    """A post's props from the ways ``App.post`` takes them: ``actions`` become one more
    attachment after ``attachments``; both go into ``props["attachments"]``."""
    out = copy.deepcopy(props) if props else {}
    atts = list(attachments if attachments is not None else out.get("attachments") or [])
    if actions:
        atts.append({"actions": list(actions)})
    if atts:
        out["attachments"] = atts
    return out


def fill(props: dict, plugin_id: str, bot_id: str) -> dict:
    """A copy of ``props`` whose actions all point at the plugin for ``bot_id``.

    An action whose ``integration.url`` points elsewhere (an HTTP integration) is left alone.
    """
    out = copy.deepcopy(props)
    url = handler_path(plugin_id)
    for att in out.get("attachments") or []:
        for action in (att or {}).get("actions") or []:
            integ = action.setdefault("integration", {})
            if integ.setdefault("url", url) != url:
                continue
            ctx = integ.get("context")
            if not isinstance(ctx, dict):
                ctx = integ["context"] = {}
            ctx["user_id"] = bot_id
            if "id" in action:
                ctx.setdefault("action_id", action["id"])
    return out
