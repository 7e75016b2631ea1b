"""One websocket connection to Mattermost: open it, read frames, send the plugin messages."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Optional

from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State

from . import nagle
from .protocol import message


def websocket_url(url: str) -> str:
    """``https://chat.example.com/sub`` -> ``wss://chat.example.com/sub/api/v4/websocket``."""
    if url.startswith("https://"):
        base = "wss://" + url[len("https://"):]
    elif url.startswith("http://"):
        base = "ws://" + url[len("http://"):]
    else:
        raise ValueError(f"url {url!r}: give http://... or https://...")
    return base.rstrip("/") + "/api/v4/websocket"


class Connection:
    """An authenticated websocket (the bot's token in the ``Authorization`` header: Mattermost
    sends ``hello`` at once, no ``authentication_challenge`` round trip)."""

    def __init__(self, ws: ClientConnection, plugin_id: str, quick_ack: bool):
        self.ws = ws
        self.plugin_id = plugin_id
        self.quick_ack = quick_ack
        self.seq = 0
        self.sock: Any = ws.transport.get_extra_info("socket") if ws.transport else None
        if quick_ack and self.sock is not None:
            nagle.prepare(self.sock)

    @classmethod
    async def open(cls, url: str, token: str, plugin_id: str, *, quick_ack: bool, ssl: Any = None,
                   open_timeout: Optional[float] = 30) -> "Connection":
        """Connects and authenticates; raises what ``websockets.connect`` raises."""
        kwargs: dict[str, Any] = {}
        if ssl is not None and url.startswith("https://"):
            kwargs["ssl"] = ssl
        ws = await connect(
            websocket_url(url),
            additional_headers={"Authorization": f"Bearer {token}"},
            # Mattermost does not compress; an event with expansions can pass 1 MiB.
            compression=None,
            max_size=64 * 2**20,
            open_timeout=open_timeout,
            **kwargs,
        )
        return cls(ws, plugin_id, quick_ack)

    @property
    def is_open(self) -> bool:
        """Whether frames can still be sent."""
        return self.ws.state is State.OPEN

    async def frames(self) -> AsyncIterator[str]:
        """Each text frame as it arrives, the Nagle remedy applied after each; ends when the
        connection closes (raises ``ConnectionClosedError`` when it broke)."""
        async for raw in self.ws:
            if self.quick_ack and not nagle.after_read(self.sock):
                await self.ws.pong()
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8", "replace")
            yield raw

    async def send(self, action: str, data: dict) -> None:
        """Sends a plugin action (``subscribe``, ``ack``, ``unsubscribe``) on this connection."""
        self.seq += 1
        await self.ws.send(message(self.plugin_id, self.seq, action, data))

    async def close(self) -> None:
        """Closes it (a normal close: the plugin drops the subscription)."""
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except (asyncio.TimeoutError, OSError):
            pass
