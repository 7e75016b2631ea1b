"""The events handlers receive: the plugin's event data, with its fields as attributes.

An :class:`Event` is the event's ``data`` exactly as the plugin sent it (a ``dict``: ``event["x"]``,
``json.dumps(event)``), plus read-only attributes for the fields of ``docs/schemas``
(``tests/test_events.py`` fails when a schema field has no attribute, or an attribute no field).
A field an event kind does not have reads as ``None`` (``""`` never stands for "absent"), except
the dict fields ``context``, ``submission`` and ``expanded`` (``{}``) and the flags ``cancelled``
and ``proxy.verified`` (``False``).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional


class Delivery(dict):
    """``proxy.delivery``: present when the bot subscribed; the event must be acknowledged."""

    @property
    def attempt(self) -> int:
        """1 the first time; more when the event is sent again (same ``event_id``)."""
        return self.get("attempt", 1)

    @property
    def ack(self) -> str:
        """Always ``"required"``."""
        return self.get("ack", "required")

    @property
    def answer_within_ms(self) -> int:
        """How long the person waits for the answer, from ``first_sent_at`` (0: nobody waits)."""
        return self.get("answer_within_ms", 0)

    @property
    def first_sent_at(self) -> Optional[int]:
        """When the event was first sent, ms since the epoch."""
        return self.get("first_sent_at")

    @property
    def reason(self) -> Optional[str]:
        """Why it came again: ``offline``, ``not_answered``, ``connection_lost``, ``restarted``.

        Sent by plugin versions that have it, on redeliveries only; otherwise ``None``.
        """
        return self.get("reason")


class Proxy(dict):
    """``proxy``: what the plugin adds to every event."""

    @property
    def event_id(self) -> str:
        """Unique per event, the same on every attempt."""
        return self["event_id"]

    @property
    def received_at(self) -> Optional[int]:
        """When the plugin received it, ms since the epoch."""
        return self.get("received_at")

    @property
    def verified(self) -> bool:
        """The click was checked against the stored message (or a signed ephemeral one)."""
        return bool(self.get("verified", False))

    @property
    def version(self) -> Optional[str]:
        """The plugin version that delivered it."""
        return self.get("version")

    @property
    def delivery(self) -> Optional[Delivery]:
        """How it is delivered; ``None`` for an event sent before the bot subscribed."""
        d = self.get("delivery")
        return Delivery(d) if isinstance(d, dict) else None

    @property
    def expanded(self) -> dict:
        """The expansions the subscription asked for (``App(expand=...)``); ``{}`` without."""
        e = self.get("expanded")
        return e if isinstance(e, dict) else {}

    @property
    def trigger_token(self) -> Optional[str]:
        """Sent by plugin versions that have it; :meth:`App.open_dialog` passes it on."""
        return self.get("trigger_token")

    @property
    def trigger_expires_at(self) -> Optional[int]:
        """Until when ``trigger_id`` can open a dialog, ms since the epoch, where the plugin says."""
        return self.get("trigger_expires_at")


class Event(dict):
    """One event for a handler: ``name`` says which kind, the rest is the event's data."""

    def __init__(self, name: str, data: dict):
        super().__init__(data)
        #: ``action``, ``command``, ``dialog_submission``, ``dialog_refresh``,
        #: ``dialog_lookup``, or a Mattermost event's name (``posted``...) for ``App.event``.
        self.name = name
        self._ack: Optional[Callable[[Any], None]] = None
        self._acked = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {dict.__repr__(self)})"

    # -- acknowledging early ---------------------------------------------------------------

    def ack(self, answer: Any = None) -> None:
        """Acknowledges now, with ``answer`` (bolt's ``ack()``): the person sees it at once.

        Call it before slow work; the handler's return value is then ignored. Safe from any
        thread; a second call is ignored (logged).
        """
        with self._lock:
            if self._acked:
                _log_second_ack(self)
                return
            self._acked = True
            send = self._ack
        if send is not None:
            send(answer)

    @property
    def acked(self) -> bool:
        """Whether :meth:`ack` was called."""
        return self._acked

    # -- proxy -----------------------------------------------------------------------------

    @property
    def proxy(self) -> Proxy:
        """What the plugin adds (event id, verification, delivery, expansions)."""
        p = self.get("proxy")
        return Proxy(p) if isinstance(p, dict) else Proxy()

    @property
    def event_id(self) -> Optional[str]:
        """``proxy.event_id``."""
        return self.proxy.get("event_id")

    @property
    def expanded(self) -> dict:
        """``proxy.expanded`` (``{}`` when the bot asked for no expansions)."""
        return self.proxy.expanded

    # -- every kind ------------------------------------------------------------------------

    @property
    def user_id(self) -> Optional[str]:
        """Who clicked, submitted, typed the command or the query."""
        return self.get("user_id")

    @property
    def user_name(self) -> Optional[str]:
        """Their username as sent (the verified one is ``expanded["acting_user"]``)."""
        return self.get("user_name")

    @property
    def channel_id(self) -> Optional[str]:
        """Where it happened."""
        return self.get("channel_id")

    @property
    def team_id(self) -> Optional[str]:
        """That channel's team (``""`` in direct and group messages)."""
        return self.get("team_id")

    @property
    def trigger_id(self) -> Optional[str]:
        """Opens a dialog for a few seconds (clicks and commands): :meth:`App.open_dialog`."""
        return self.get("trigger_id")

    # -- clicks ----------------------------------------------------------------------------

    @property
    def channel_name(self) -> Optional[str]:
        """The channel's name (clicks)."""
        return self.get("channel_name")

    @property
    def team_domain(self) -> Optional[str]:
        """The team's name (clicks)."""
        return self.get("team_domain")

    @property
    def post_id(self) -> Optional[str]:
        """The message clicked."""
        return self.get("post_id")

    @property
    def type(self) -> Optional[str]:
        """``button`` or ``select`` (clicks)."""
        return self.get("type")

    @property
    def data_source(self) -> Optional[str]:
        """A menu's source: ``users``, ``channels``, or ``""``."""
        return self.get("data_source")

    @property
    def context(self) -> dict:
        """The action's ``integration.context`` as posted (``{}`` for other kinds)."""
        c = self.get("context")
        return c if isinstance(c, dict) else {}

    @property
    def action_id(self) -> Optional[str]:
        """``context.action_id``: what the library's :func:`button` and :func:`menu` put there."""
        return self.context.get("action_id")

    @property
    def selected_option(self) -> Optional[str]:
        """A menu's choice (``context.selected_option``): an option's value, a user or channel id."""
        return self.context.get("selected_option")

    # -- dialogs ---------------------------------------------------------------------------

    @property
    def callback_id(self) -> Optional[str]:
        """The dialog's ``callback_id``."""
        return self.get("callback_id")

    @property
    def state(self) -> Optional[str]:
        """The dialog's ``state``."""
        return self.get("state")

    @property
    def submission(self) -> dict:
        """The dialog's values by field name (checked by the plugin for a submission)."""
        s = self.get("submission")
        return s if isinstance(s, dict) else {}

    @property
    def cancelled(self) -> bool:
        """The person cancelled the dialog (``notify_on_cancel``)."""
        return bool(self.get("cancelled", False))

    @property
    def selected_field(self) -> Optional[str]:
        """The dynamic select being filled (lookups)."""
        return self.get("selected_field")

    @property
    def query(self) -> Optional[str]:
        """What the person typed in it so far (lookups)."""
        return self.get("query")

    # -- commands --------------------------------------------------------------------------

    @property
    def command(self) -> Optional[str]:
        """The whole command as typed: ``/deploy prod``."""
        return self.get("command")

    @property
    def trigger(self) -> Optional[str]:
        """The command's trigger, lowercase, no slash: ``deploy``."""
        return self.get("trigger")

    @property
    def text(self) -> Optional[str]:
        """What follows the trigger, trimmed (``""`` for nothing)."""
        return self.get("text")

    @property
    def root_id(self) -> Optional[str]:
        """The thread the command was typed in (``""`` outside one)."""
        return self.get("root_id")


def _log_second_ack(event: Event) -> None:
    import logging

    logging.getLogger("mattermost_socket_mode").warning(
        "event %s was acknowledged already; the second ack() is ignored", event.event_id
    )
