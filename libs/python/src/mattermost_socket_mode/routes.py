"""Which handler an event goes to. No I/O here.

Handlers are matched by what the bot named: an action id, a context key, a dialog's
``callback_id``, a command's trigger. The first handler registered that matches runs (one
handler per event: its answer is the acknowledgement's); the fallback takes what none matched.
A name may be a ``str`` (equal) or a compiled ``re.Pattern`` (``search``, as bolt does).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from .events import Event

Name = Union[str, "re.Pattern[str]"]
Handler = Callable[[Event], Any]


def is_async(fn: Callable) -> bool:
    """``async def`` handlers run on the event loop; others in the thread pool."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def _matches(name: Optional[Name], value: Any) -> bool:
    if name is None:
        return True
    if not isinstance(value, str):
        return False
    if isinstance(name, re.Pattern):
        return name.search(value) is not None
    return name == value


@dataclass(frozen=True)
class Route:
    """One registered handler: the event kind it takes and what it must match."""

    kind: str
    handler: Handler
    name: Optional[Name] = None
    #: Extra equalities on the action's context (``action(context={"action": "approve"})``).
    context: Optional[dict] = None
    #: Lookups: the dynamic select's field name.
    field: Optional[Name] = None
    #: Menus: only events with a chosen value.
    menu: bool = False

    def matches(self, event: Event) -> bool:
        """Whether this route takes ``event``."""
        if event.name != self.kind:
            return False
        if self.kind == "action":
            if self.menu and event.selected_option is None:
                return False
            if self.context:
                ctx = event.context
                if any(k not in ctx or ctx[k] != v for k, v in self.context.items()):
                    return False
            return self.name is None or _matches(self.name, event.action_id)
        if self.kind == "command":
            return _matches(self.name, event.trigger)
        if self.kind == "dialog_lookup" and not _matches(self.field, event.selected_field):
            return False
        if self.kind in ("dialog_submission", "dialog_refresh", "dialog_lookup"):
            return _matches(self.name, event.callback_id)
        # Mattermost's own events (App.event): by name, or every one.
        return True


class Router:
    """The routes in registration order, and the fallback."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.fallback: Optional[Handler] = None
        #: Mattermost's own websocket events (and the plugin's others) by name; "" is every one.
        self.listeners: list[tuple[str, Handler]] = []

    def add(self, route: Route) -> None:
        """Adds a route after the others."""
        if route.kind == "action" and route.name is None and not route.context:
            raise ValueError("name an action id, or give context={...} to match")
        self.routes.append(route)

    def find(self, event: Event) -> Optional[Handler]:
        """The handler for a plugin event: the first route that matches, else the fallback."""
        for route in self.routes:
            if route.matches(event):
                return route.handler
        return self.fallback

    def listeners_for(self, name: str) -> list[Handler]:
        """The handlers of a websocket event that is not delivered by the plugin."""
        return [h for n, h in self.listeners if n in ("", name)]
