"""A stand-in for Mattermost and the plugin, for the unit tests: a real websocket server on
loopback that speaks the plugin's protocol as the test drives it, and an httpx transport for
the REST calls. (The real server is in tests/e2e, lib_python_test.go.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Optional

import httpx
from websockets.asyncio.server import ServerConnection, serve

from mattermost_socket_mode import App, Backoff
from mattermost_socket_mode.protocol import PLUGIN_ID, prefix

BOT_ID = "bot1bot1bot1bot1bot1bot1b1"
TOKEN = "the-bots-token"
P = prefix(PLUGIN_ID)


def event_id(n: int) -> str:
    """A valid event id: 26 characters of Mattermost's alphabet."""
    return f"{n:0>26}".replace("0", "y")


def click(n: int, action_id: str = "approve", delivery: bool = True, attempt: int = 1, **context: Any) -> dict:
    """An action event's data."""
    proxy: dict[str, Any] = {"event_id": event_id(n), "received_at": 1, "verified": True, "version": "1.0.0"}
    if delivery:
        proxy["delivery"] = {"attempt": attempt, "ack": "required", "answer_within_ms": 2500, "first_sent_at": 1}
    ctx = {"user_id": BOT_ID, **({"action_id": action_id} if action_id else {}), **context}
    return {"user_id": "alice" * 5 + "x", "user_name": "alice", "channel_id": "c" * 26, "channel_name": "town",
            "team_id": "t" * 26, "team_domain": "acme", "post_id": "p" * 26, "trigger_id": "trig",
            "type": "select" if "selected_option" in context else "button", "data_source": "",
            "context": ctx, "proxy": proxy}


def with_proxy(n: int, data: dict, delivery: bool = True) -> dict:
    """Any event's data with a proxy."""
    proxy: dict[str, Any] = {"event_id": event_id(n), "received_at": 1, "verified": True, "version": "1.0.0"}
    if delivery:
        proxy["delivery"] = {"attempt": 1, "ack": "required", "answer_within_ms": 2500, "first_sent_at": 1}
    return {**data, "proxy": proxy}


class FakeMattermost:
    """One server: the websocket at /api/v4/websocket; REST through :meth:`transport`."""

    def __init__(self) -> None:
        self.conns: list[ServerConnection] = []
        self.received: asyncio.Queue = asyncio.Queue()  # (connection index, message)
        self.rest: list[tuple[str, str, Any]] = []  # (method, path, json)
        self.rest_answers: dict[tuple[str, str], Callable[[Any], httpx.Response]] = {
            ("GET", "/api/v4/users/me"): lambda _: httpx.Response(200, json={"id": BOT_ID, "username": "bot"}),
            ("POST", f"/plugins/{PLUGIN_ID}/api/v1/ack"): lambda b: httpx.Response(200, json={"event_id": b["event_id"], "status": "applied"}),
            ("POST", f"/plugins/{PLUGIN_ID}/api/v1/commands"): lambda b: httpx.Response(200, json={"command": b}),
        }
        self.rest_seen: asyncio.Queue = asyncio.Queue()
        self.headers: list[dict] = []
        self.subscribed_reply = True

    async def __aenter__(self) -> "FakeMattermost":
        self.server = await serve(self._serve, "127.0.0.1", 0, compression=None)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, ws: ServerConnection) -> None:
        self.headers.append(ws.request.headers)
        if ws.request.path != "/api/v4/websocket" or ws.request.headers.get("Authorization") != f"Bearer {TOKEN}":
            await ws.close(4001, "unauthorized")
            return
        index = len(self.conns)
        self.conns.append(ws)
        await ws.send(json.dumps({"event": "hello", "data": {"server_version": "11.4"}, "seq": 0}))
        async for raw in ws:
            msg = json.loads(raw)
            await self.received.put((index, msg))
            if msg.get("action") == P + "subscribe" and self.subscribed_reply:
                await ws.send(json.dumps({"event": P + "subscribed", "data": {
                    "connection_id": f"conn{index}", "answer_window_ms": 2500, "kept": 0, "expand": {}}}))

    def transport(self) -> httpx.MockTransport:
        """REST: records every call, answers from rest_answers (404 otherwise)."""

        def handle(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content) if request.content else None
            self.rest.append((request.method, request.url.path, body))
            self.rest_seen.put_nowait((request.method, request.url.path, body))
            answer = self.rest_answers.get((request.method, request.url.path))
            if answer is None:
                return httpx.Response(404, json={"id": "api.context.404.app_error", "message": "not found"})
            return answer(body)

        return httpx.MockTransport(handle)

    async def send(self, event: str, data: Any, conn: int = -1) -> None:
        """Sends an event (a plugin one when ``event`` has no ``custom_`` prefix... see P)."""
        await self.conns[conn].send(json.dumps({"event": event, "data": data, "seq": 1}))

    async def deliver(self, kind: str, data: dict, conn: int = -1) -> None:
        """Sends a plugin event (``action``, ``command``...)."""
        await self.send(P + kind, data, conn)

    async def next(self, action: Optional[str] = None, timeout: float = 5) -> tuple[int, dict]:
        """The next message the bot sent (with ``action``, without its prefix), skipping others."""
        while True:
            index, msg = await asyncio.wait_for(self.received.get(), timeout)
            if action is None or msg.get("action") == P + action:
                return index, msg

    async def nothing(self, action: str, within: float = 0.3) -> None:
        """Fails if the bot sends ``action`` within ``within`` seconds."""
        try:
            _, msg = await self.next(action, within)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"the bot sent {msg}")

    def app(self, **options: Any) -> App:
        """An App pointed at this server, its REST calls answered here."""
        options.setdefault("backoff", Backoff(base=0.01, cap=0.05))
        app = App(self.url, TOKEN, **options)
        transport = self.transport()
        app.http = httpx.Client(transport=transport, base_url=self.url)
        app._ahttp = httpx.AsyncClient(transport=transport, base_url=self.url)
        return app


def run(coro: Any, timeout: float = 20) -> Any:
    """Runs a test coroutine, bounded so a hang fails instead of blocking the suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
