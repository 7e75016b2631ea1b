"""The bot-side remedy for Mattermost's Nagle stall (SPEC §14, issue 20).

Mattermost turns ``TCP_NODELAY`` off on its side of every websocket. A small message it sent
that the bot has not acknowledged at the TCP level yet (a ``post_edited`` after an answer)
holds back its next message until the bot's delayed ACK fires, about 40 ms on Linux. The
remedy is to make the bot's TCP acknowledgements immediate:

- ``TCP_NODELAY`` on the bot's own socket, once (asyncio sets it too; it costs nothing);
- on Linux, ``TCP_QUICKACK`` after **every** message read: the kernel clears it by itself, so
  it is re-armed each time, and setting it while an ACK is pending sends that ACK at once;
- where ``TCP_QUICKACK`` does not exist (macOS, Windows), an unsolicited websocket pong right
  after each message instead (RFC 6455 allows them): the segment carries the ACK with it.

``App(quick_ack=False)`` turns it off.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Optional

log = logging.getLogger("mattermost_socket_mode")

QUICKACK: Optional[int] = getattr(socket, "TCP_QUICKACK", None)


def prepare(sock: Any) -> None:
    """Once per connection: no Nagle on the bot's side either."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as e:
        log.debug("TCP_NODELAY not set: %s", e)


def after_read(sock: Any) -> bool:
    """After each message read: acknowledge at once. False when the platform has no
    ``TCP_QUICKACK`` (or the socket refused it): the caller then sends a pong instead."""
    if QUICKACK is None or sock is None:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return True
    except (OSError, AttributeError):
        return False
